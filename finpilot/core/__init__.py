"""Shared foundations: settings, errors, clocks, and the one HTTP client factory, retry helper, webhook
signer, test-card generator, path gate (``safe_child``) and private-file helpers that every capability
builds on."""

from finpilot.core._asgi_edge import API_SECURITY_HEADERS, BodyLimit, SecurityHeaders, edge, proxy_options, send_json
from finpilot.core._clock import Clock, FakeClock, MonotonicClock, rfc3339, utc_now
from finpilot.core._config_file import line_for, load_settings, parse_settings, read_yaml
from finpilot.core._errors import (
    AuthError,
    BadRequestError,
    CheckFailedError,
    ConfigError,
    FinpilotError,
    InputError,
    IntegrityError,
    NotFoundError,
    PayloadTooLargeError,
    PermissionDeniedError,
    RateLimitedError,
    SensitiveDataError,
    StorageError,
    UnavailableError,
)
from finpilot.core._field_problem import FieldProblem
from finpilot.core._http_client import HTTP_DEFAULTS, HttpDefaults, async_http_client, http_client
from finpilot.core._http_errors import (
    STATUS_MEANINGS,
    ErrorBody,
    error_body,
    error_from_body,
    error_headers,
    error_responses,
    http_status,
    validation_error,
)
from finpilot.core._luhn import luhn_check_digit, luhn_ok, luhn_test_card
from finpilot.core._model import StrictModel
from finpilot.core._paths import safe_child
from finpilot.core._private import private_dir, private_file, tighten_tree
from finpilot.core._redact import REDACTED, redact_digit_runs
from finpilot.core._request_bounds import MAX_JSON_DEPTH, MAX_REQUEST_INT, parse_json_body
from finpilot.core._retry import Backoff, Retry
from finpilot.core._secret import SecretRef, resolve_secret
from finpilot.core._settings import (
    AuditSettings,
    AuthFailureSettings,
    ConsoleSettings,
    FraudAlertSettings,
    FraudSettings,
    Settings,
    StorageSettings,
    demo_settings,
    settings_schema,
)
from finpilot.core._settings_backup import BackupSettings
from finpilot.core._settings_db import DbHaSettings, DbSettings
from finpilot.core._settings_runbook import RunbookSettings
from finpilot.core._settings_runtime import (
    Classification,
    DisruptionSpec,
    NodeSpec,
    PoolSpec,
    ProbeSpec,
    ProbesSpec,
    ResourcesSpec,
    RestartSpec,
    RouterSpec,
    RuntimeSettings,
    ServiceSpec,
)
from finpilot.core._settings_watch import WatchSettings
from finpilot.core._settings_watch_alerts import WatchAlertSettings
from finpilot.core._settings_watch_autoscale import WatchAutoscaleSettings
from finpilot.core._settings_watch_detect import LiveSeriesSettings, WatchDetectSettings
from finpilot.core._settings_watch_metrics import ScrapeTargetSettings, WatchMetricsSettings
from finpilot.core._token_bucket import TokenBuckets
from finpilot.core._webhook_signature import SIGNATURE_HEADER, signed_json, webhook_signature, webhook_signature_ok

__all__ = [
    "API_SECURITY_HEADERS",
    "HTTP_DEFAULTS",
    "MAX_JSON_DEPTH",
    "MAX_REQUEST_INT",
    "REDACTED",
    "SIGNATURE_HEADER",
    "STATUS_MEANINGS",
    "AuditSettings",
    "AuthError",
    "AuthFailureSettings",
    "Backoff",
    "BackupSettings",
    "BadRequestError",
    "BodyLimit",
    "CheckFailedError",
    "Classification",
    "Clock",
    "ConfigError",
    "ConsoleSettings",
    "DbHaSettings",
    "DbSettings",
    "DisruptionSpec",
    "ErrorBody",
    "FakeClock",
    "FieldProblem",
    "FinpilotError",
    "FraudAlertSettings",
    "FraudSettings",
    "HttpDefaults",
    "InputError",
    "IntegrityError",
    "LiveSeriesSettings",
    "MonotonicClock",
    "NodeSpec",
    "NotFoundError",
    "PayloadTooLargeError",
    "PermissionDeniedError",
    "PoolSpec",
    "ProbeSpec",
    "ProbesSpec",
    "RateLimitedError",
    "ResourcesSpec",
    "RestartSpec",
    "Retry",
    "RouterSpec",
    "RunbookSettings",
    "RuntimeSettings",
    "ScrapeTargetSettings",
    "SecretRef",
    "SecurityHeaders",
    "SensitiveDataError",
    "ServiceSpec",
    "Settings",
    "StorageError",
    "StorageSettings",
    "StrictModel",
    "TokenBuckets",
    "UnavailableError",
    "WatchAlertSettings",
    "WatchAutoscaleSettings",
    "WatchDetectSettings",
    "WatchMetricsSettings",
    "WatchSettings",
    "async_http_client",
    "demo_settings",
    "edge",
    "error_body",
    "error_from_body",
    "error_headers",
    "error_responses",
    "http_client",
    "http_status",
    "line_for",
    "load_settings",
    "luhn_check_digit",
    "luhn_ok",
    "luhn_test_card",
    "parse_json_body",
    "parse_settings",
    "private_dir",
    "private_file",
    "proxy_options",
    "read_yaml",
    "redact_digit_runs",
    "resolve_secret",
    "rfc3339",
    "safe_child",
    "send_json",
    "settings_schema",
    "signed_json",
    "tighten_tree",
    "utc_now",
    "validation_error",
    "webhook_signature",
    "webhook_signature_ok",
]
