"""Shared foundations: settings, errors and clocks that every capability builds on."""

from finpilot.core._clock import Clock, FakeClock, rfc3339, utc_now
from finpilot.core._config_file import load_settings, parse_settings
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
from finpilot.core._settings import (
    AuditSettings,
    ConsoleSettings,
    FraudSettings,
    Settings,
    StorageSettings,
    demo_settings,
    settings_schema,
)

__all__ = [
    "AuditSettings",
    "AuthError",
    "CheckFailedError",
    "Clock",
    "ConfigError",
    "ConsoleSettings",
    "FakeClock",
    "FinpilotError",
    "FraudSettings",
    "InputError",
    "IntegrityError",
    "NotFoundError",
    "PermissionDeniedError",
    "SensitiveDataError",
    "Settings",
    "StorageError",
    "StorageSettings",
    "demo_settings",
    "load_settings",
    "parse_settings",
    "rfc3339",
    "settings_schema",
    "utc_now",
]
