"""The one mapping from errors to HTTP responses, shared by every finpilot server.

The console and the runtime controller both turn an error into a response with
:func:`http_status` and :func:`error_body`, so the same error gets the same status and body
whichever server raised it::

    error                                          status
    InputError, ConfigError, SensitiveDataError    422  names the field
    ├── BadRequestError                            400  the body is not JSON
    └── PayloadTooLargeError                       413
    AuthError                                      401  not authenticated (with WWW-Authenticate: Bearer)
    └── PermissionDeniedError                      403  authenticated, not allowed
    NotFoundError                                  404
    CheckFailedError, IntegrityError               409  the state forbids it
    RateLimitedError                               429  too many refusals from this client (with Retry-After)
    StorageError, UnavailableError                 503  try again later
    any other error                                500

Every error body is :class:`ErrorBody`: ``{error, message, field, fix}``, where ``error`` is
the error's type name. Nothing a client sent is ever echoed back: bodies may hold card
numbers or tokens. Pure Python (pydantic for the body's schema): no web framework here, each
server's exception handler calls these.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

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
from finpilot.core._model import StrictModel
from finpilot.core._request_bounds import MAX_REQUEST_INT

# Most specific first: the first class in an error's MRO found here wins.
_STATUS: dict[type[FinpilotError], int] = {
    BadRequestError: 400,
    PayloadTooLargeError: 413,
    InputError: 422,
    PermissionDeniedError: 403,
    AuthError: 401,
    NotFoundError: 404,
    IntegrityError: 409,
    CheckFailedError: 409,
    RateLimitedError: 429,
    StorageError: 503,
    UnavailableError: 503,
}

STATUS_MEANINGS: dict[int, str] = {
    400: "the body is not JSON",
    401: "not authenticated: no valid token",
    403: "authenticated, but not allowed (the token's role, or a cross-site request)",
    404: "not found",
    409: "the current state forbids it",
    413: "the body is too large",
    422: "invalid input (names the field)",
    429: "too many refused requests from this client; wait for Retry-After seconds",
    503: "unavailable now (storage, or a component this call needs); try again later",
}
"""What each error status means, for API documentation."""


class ErrorBody(StrictModel):
    """Every error response of every finpilot server: what failed, which field, and what to do."""

    error: str
    """The error's type name, e.g. ``InputError`` or ``NotFoundError``."""
    message: str
    field: str | None
    fix: str | None


def http_status(exc: FinpilotError) -> int:
    """The HTTP status for an error (see the module docstring)."""
    for cls in type(exc).__mro__:
        if cls in _STATUS:
            return _STATUS[cls]
    return 500


def error_body(exc: FinpilotError) -> dict[str, str | None]:
    """The JSON body for an error: ``{error, message, field, fix}``."""
    return exc.to_dict()


def error_headers(status: int) -> dict[str, str] | None:
    """Headers an error response of ``status`` carries: a 401 says how to authenticate."""
    return {"WWW-Authenticate": "Bearer"} if status == 401 else None


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` for error statuses (all of :data:`STATUS_MEANINGS` when none are named)."""
    return {
        status: {"model": ErrorBody, "description": STATUS_MEANINGS[status]} for status in statuses or STATUS_MEANINGS
    }


def error_from_body(status: int, body: Any) -> FinpilotError:
    """The error a finpilot server answered with, rebuilt from its status and :class:`ErrorBody` (for clients).

    The body's ``error`` names the type when it is one of the core errors; otherwise the type
    is the one :func:`http_status` maps ``status`` from (a 5xx without a match is a StorageError).
    """
    problem: Mapping[str, Any] = body if isinstance(body, Mapping) else {}
    message = str(problem.get("message") or f"the server answered HTTP {status}")
    field, fix = problem.get("field"), problem.get("fix")
    kinds: dict[str, type[FinpilotError]] = {cls.__name__: cls for cls in (*_STATUS, ConfigError, SensitiveDataError)}
    kind = kinds.get(str(problem.get("error")))
    if kind is None:
        kind = next((cls for cls, code in _STATUS.items() if code == status), None)
    if kind is None:
        kind = StorageError if status >= 500 else InputError
    error: FinpilotError = kind(
        message, field=str(field) if field is not None else None, fix=str(fix) if fix is not None else None
    )
    return error


def validation_error(problems: Sequence[Mapping[str, Any]]) -> InputError:
    """One :class:`InputError` from a list of pydantic validation problems (the first names the field).

    ``loc`` is pydantic's location (``("body", "node")``, ``("query", "limit")``); the
    problem's input is never quoted back. A body that is not JSON is a :class:`BadRequestError`.
    """
    first: Mapping[str, Any] = problems[0] if problems else {"loc": (), "msg": "invalid request"}
    if first.get("type") == "json_invalid":
        return BadRequestError(
            "the request body is not valid JSON", field="$", fix="send one JSON object encoded as UTF-8"
        )
    loc = [str(part) for part in first.get("loc", ())]
    where, name = (loc[0], ".".join(loc[1:])) if len(loc) > 1 else ("request", ".".join(loc))
    message = first.get("msg", "invalid")
    if (first.get("ctx") or {}).get("le") == MAX_REQUEST_INT:
        # Spelled out: the bound's 19 digits would read as a card number and be redacted.
        message = "Input should be at most 2**63 - 1 (a 64-bit integer)"
    return InputError(f"{where} parameter '{name}': {message}", field=name or None)
