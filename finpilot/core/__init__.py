"""Shared foundations: settings, errors and clocks that every capability builds on."""

from finpilot.core._clock import Clock, FakeClock, rfc3339, utc_now
from finpilot.core._config_file import line_for, load_settings, parse_settings, read_yaml
from finpilot.core._errors import (
    AuthError,
    CheckFailedError,
    ConfigError,
    FinpilotError,
    InputError,
    IntegrityError,
    NotFoundError,
    PermissionDeniedError,
    SensitiveDataError,
    StorageError,
)
from finpilot.core._field_problem import FieldProblem
from finpilot.core._model import StrictModel
from finpilot.core._settings import (
    AuditSettings,
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
    SecretRef,
    ServiceSpec,
)

__all__ = [
    "AuditSettings",
    "AuthError",
    "BackupSettings",
    "CheckFailedError",
    "Classification",
    "Clock",
    "ConfigError",
    "ConsoleSettings",
    "DbHaSettings",
    "DbSettings",
    "DisruptionSpec",
    "FakeClock",
    "FieldProblem",
    "FinpilotError",
    "FraudAlertSettings",
    "FraudSettings",
    "InputError",
    "IntegrityError",
    "NodeSpec",
    "NotFoundError",
    "PermissionDeniedError",
    "PoolSpec",
    "ProbeSpec",
    "ProbesSpec",
    "ResourcesSpec",
    "RestartSpec",
    "RouterSpec",
    "RunbookSettings",
    "RuntimeSettings",
    "SecretRef",
    "SensitiveDataError",
    "ServiceSpec",
    "Settings",
    "StorageError",
    "StorageSettings",
    "StrictModel",
    "demo_settings",
    "line_for",
    "load_settings",
    "parse_settings",
    "read_yaml",
    "rfc3339",
    "settings_schema",
    "utc_now",
]
