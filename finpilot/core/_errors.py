"""The error tree every finpilot module raises from.

::

    FinpilotError                     root; never raised itself
    ├── InputError                    bad input from a user or caller (CLI exit 2, HTTP 422)
    │   ├── ConfigError               finpilot.yaml is invalid (names the field and line)
    │   ├── SensitiveDataError        a full card number (PAN) or secret was offered
    │   ├── BadRequestError           a request body is not JSON (HTTP 400)
    │   └── PayloadTooLargeError      a request body is too large (HTTP 413)
    ├── NotFoundError                 the named object does not exist (exit 2, HTTP 404)
    ├── AuthError                     no or unknown credentials (HTTP 401)
    │   └── PermissionDeniedError     known credentials, wrong role (HTTP 403)
    ├── CheckFailedError              a check ran and failed (CLI exit 1)
    ├── IntegrityError                stored state contradicts what was signed (refuse to go on)
    ├── RateLimitedError              too many refused attempts from one client: wait and retry (HTTP 429)
    ├── StorageError                  the storage backend failed (retry may help)
    └── UnavailableError              something the call needs is not there now: no model loaded (HTTP 503)

The HTTP status of each is in :mod:`finpilot.core._http_errors`, the one mapping every server uses.
Errors carry context: ``field`` names what was wrong and ``fix`` says what to do, so the
CLI and the console can show a useful message without parsing strings.
"""

from __future__ import annotations

from finpilot.core._redact import redact_digit_runs


def _redacted(text: str | None) -> str | None:
    return None if text is None else redact_digit_runs(text)


class FinpilotError(Exception):
    """Root of every error finpilot raises on purpose.

    ``message``, ``field`` and ``fix`` never hold a card-number-shaped digit run: they are
    scrubbed on every assignment (:func:`~finpilot.core.redact_digit_runs`), because a field
    name or value in them may have come from a client.
    """

    def __init__(self, message: str, *, field: str | None = None, fix: str | None = None) -> None:
        super().__init__(redact_digit_runs(message))
        self.message = message
        self.field = field
        self.fix = fix

    @property
    def message(self) -> str:
        """What went wrong."""
        return self._message

    @message.setter
    def message(self, value: str) -> None:
        self._message = redact_digit_runs(value)

    @property
    def field(self) -> str | None:
        """The field that was wrong, when one was."""
        return self._field

    @field.setter
    def field(self, value: str | None) -> None:
        self._field = _redacted(value)

    @property
    def fix(self) -> str | None:
        """What to do about it."""
        return self._fix

    @fix.setter
    def fix(self, value: str | None) -> None:
        self._fix = _redacted(value)

    def __str__(self) -> str:
        parts = [self.message]
        if self.fix:
            parts.append(f"Fix: {self.fix}")
        return " ".join(parts)

    def to_dict(self) -> dict[str, str | None]:
        """A JSON-ready form for APIs and ``--json`` output."""
        return {
            "error": type(self).__name__,
            "message": self.message,
            "field": self.field,
            "fix": self.fix,
        }


class InputError(FinpilotError):
    """Input from a user or caller was rejected; nothing was changed."""


class ConfigError(InputError):
    """The configuration file is invalid. ``line`` is 1-based when known."""

    def __init__(
        self,
        message: str,
        *,
        field: str | None = None,
        fix: str | None = None,
        line: int | None = None,
        path: str | None = None,
    ) -> None:
        super().__init__(message, field=field, fix=fix)
        self.line = line
        self.path = path


class SensitiveDataError(InputError):
    """A full card number or a secret was offered where it must never be stored."""


class BadRequestError(InputError):
    """A request body could not be read as JSON."""


class PayloadTooLargeError(InputError):
    """A request body is larger than the server accepts."""


class NotFoundError(FinpilotError):
    """The object asked for does not exist."""


class AuthError(FinpilotError):
    """Credentials are missing, unknown or revoked."""


class PermissionDeniedError(AuthError):
    """The credentials are valid but their role may not do this."""


class CheckFailedError(FinpilotError):
    """A check ran to completion and found a problem."""


class IntegrityError(FinpilotError):
    """Stored state contradicts what was signed earlier; finpilot refuses to continue."""


class RateLimitedError(FinpilotError):
    """Too many refused attempts came from one client; ``retry_after_s`` says when to try again."""

    def __init__(
        self, message: str, *, retry_after_s: float = 1.0, field: str | None = None, fix: str | None = None
    ) -> None:
        super().__init__(message, field=field, fix=fix)
        self.retry_after_s = retry_after_s


class StorageError(FinpilotError):
    """The storage backend failed; the operation may succeed if retried."""


class UnavailableError(FinpilotError):
    """Something the call needs is not available now (no fraud model loaded); retry once it is."""
