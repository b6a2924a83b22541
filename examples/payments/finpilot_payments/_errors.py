"""The payments service's error tree, and the HTTP status each one maps to.

::

    PaymentsError                       root; never raised itself
    ├── AuthenticationError             401  no valid API token (WWW-Authenticate: Bearer)
    ├── ScopeError                      403  the token lacks the scope the call needs
    ├── InputError                      422  bad input; names the field; nothing changed
    │   └── CardError                   422  the card number is malformed (never echoed)
    ├── NotFoundError                   404  unknown account, card or authorization
    ├── PaymentRefusedError             402  the payment cannot be made
    │   └── InsufficientFundsError      402  it would overdraw beyond the account's limit
    ├── AccountFrozenError              403  the paying account is frozen
    ├── ConflictError                   409  the object's state forbids the operation
    │   └── IdempotencyConflictError    409  the key was used with a different request
    ├── StorageError                    503  the database failed (a retry may help)
    └── PayloadTooLargeError            413  the request body is over max_body_bytes (refused unread)

Errors carry ``field`` (what was wrong) and ``fix`` (what to do). No error message ever holds
what the client sent: a body may hold a card number.
"""

from __future__ import annotations


class PaymentsError(Exception):
    """Root of every error the payments service raises on purpose."""

    status = 500

    def __init__(self, message: str, *, field: str | None = None, fix: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        self.fix = fix

    def to_dict(self) -> dict[str, str | None]:
        """The JSON error body."""
        return {"error": type(self).__name__, "message": self.message, "field": self.field, "fix": self.fix}


class AuthenticationError(PaymentsError):
    """No API token was sent, or it is malformed, unknown or revoked. The message never holds the token."""

    status = 401


class ScopeError(PaymentsError):
    """The API token is valid but lacks the scope the call needs; ``scope`` names it."""

    status = 403

    def __init__(self, message: str, *, scope: str, fix: str | None = None) -> None:
        super().__init__(message, field="Authorization", fix=fix)
        self.scope = scope


class InputError(PaymentsError):
    """The request was rejected as invalid; nothing was changed."""

    status = 422


class CardError(InputError):
    """The card number is malformed (wrong length, not digits, or fails the Luhn check)."""


class NotFoundError(PaymentsError):
    """The named account, card or authorization does not exist."""

    status = 404


class PaymentRefusedError(PaymentsError):
    """The payment cannot be made."""

    status = 402


class InsufficientFundsError(PaymentRefusedError):
    """The payment would take the account below its overdraft limit."""


class AccountFrozenError(PaymentsError):
    """The paying account is frozen and cannot pay until it is unfrozen."""

    status = 403


class ConflictError(PaymentsError):
    """The object is in a state that does not allow the operation (e.g. capturing twice)."""

    status = 409


class IdempotencyConflictError(ConflictError):
    """The idempotency key was already used with a different request."""


class StorageError(PaymentsError):
    """The database could not be reached or failed; a retry may help."""

    status = 503


class PayloadTooLargeError(PaymentsError):
    """The request body is larger than the service reads; nothing was read past the limit."""

    status = 413
