"""The one place errors become HTTP responses, and request bodies become JSON.

::

    error                               status
    InputError, SensitiveDataError      422
    ├── BadRequestError                 400  the body is not JSON (console only)
    └── PayloadTooLargeError            413  (console only)
    NotFoundError                       404
    AuthError                           401  with WWW-Authenticate: Bearer
    └── PermissionDeniedError           403
    IntegrityError, CheckFailedError    409
    StorageError                        503
    any other error                     500

Every error body is ``FinpilotError.to_dict()``. Nothing a client sent is ever echoed back:
bodies may hold card numbers or tokens.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException

from finpilot.core import (
    AuthError,
    CheckFailedError,
    FinpilotError,
    InputError,
    IntegrityError,
    NotFoundError,
    PermissionDeniedError,
    StorageError,
)

_log = logging.getLogger("finpilot.console")


class BadRequestError(InputError):
    """The request body could not be read as JSON."""


class PayloadTooLargeError(InputError):
    """The request body is larger than the console accepts."""


class ErrorBody(BaseModel):
    """Every error response: what failed, which field, and what to do."""

    error: str
    message: str
    field: str | None
    fix: str | None


ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorBody, "description": text}
    for code, text in {
        400: "the body is not JSON",
        401: "no valid token",
        403: "the token's role may not do this, or a cross-site request",
        404: "not found",
        413: "the body is too large",
        422: "invalid input (names the field)",
        503: "storage unavailable",
    }.items()
}
"""OpenAPI documentation of the error responses."""


# Most specific first: the first class in an error's MRO found here wins.
_STATUS: dict[type[FinpilotError], int] = {
    BadRequestError: 400,
    PayloadTooLargeError: 413,
    InputError: 422,
    NotFoundError: 404,
    PermissionDeniedError: 403,
    AuthError: 401,
    IntegrityError: 409,
    CheckFailedError: 409,
    StorageError: 503,
}


def status_for(exc: FinpilotError) -> int:
    """The HTTP status for an error."""
    for cls in type(exc).__mro__:
        if cls in _STATUS:
            return _STATUS[cls]
    return 500


def error_response(exc: FinpilotError) -> JSONResponse:
    """The JSON response for an error."""
    status = status_for(exc)
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return JSONResponse(exc.to_dict(), status_code=status, headers=headers)


async def _finpilot_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, FinpilotError)
    if status_for(exc) >= 500:
        # Server-side trouble deserves a log line; client mistakes do not.
        _log.warning("request failed: %s: %s", type(exc).__name__, exc.message)
    return error_response(exc)


async def _validation_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    first: dict[str, Any] = exc.errors()[0] if exc.errors() else {"loc": (), "msg": "invalid request"}
    loc = [str(part) for part in first.get("loc", ())]
    where, name = (loc[0], ".".join(loc[1:])) if len(loc) > 1 else ("request", ".".join(loc))
    # FastAPI's own body would echo the offending input; say what was wrong, not what was sent.
    err = InputError(f"{where} parameter '{name}': {first.get('msg', 'invalid')}", field=name or None)
    return error_response(err)


async def _http_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    if exc.status_code == 404:
        body = NotFoundError("no such page or endpoint", fix="see /openapi.json for the API").to_dict()
    else:
        body = {"error": "HTTPError", "message": str(exc.detail), "field": None, "fix": None}
    return JSONResponse(body, status_code=exc.status_code, headers=exc.headers)


def install_error_handlers(app: FastAPI) -> None:
    """Map finpilot errors, validation errors and routing errors to JSON bodies."""
    app.add_exception_handler(FinpilotError, _finpilot_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)


def _no_constants(name: str) -> float:
    raise ValueError(f"{name} is not JSON")


async def read_body(request: Request, limit: int) -> bytes:
    """Read a request body declared as JSON, of at most ``limit`` bytes.

    Raises :class:`PayloadTooLargeError` (413) when larger, :class:`BadRequestError` (400) when
    empty or not declared as JSON.
    """
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if ctype != "application/json" and not ctype.endswith("+json"):
        # Requiring JSON also means a cross-site HTML form can never submit here.
        raise BadRequestError(
            "the request body must be JSON", field="Content-Type", fix="send Content-Type: application/json"
        )
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise PayloadTooLargeError(f"the request body is larger than {limit} bytes", field="$")
    chunks: list[bytes] = []
    total = 0
    async for chunk in request.stream():
        total += len(chunk)
        if total > limit:
            raise PayloadTooLargeError(f"the request body is larger than {limit} bytes", field="$")
        chunks.append(chunk)
    raw = b"".join(chunks)
    if not raw.strip():
        raise BadRequestError("the request body is empty; send a JSON object", field="$")
    return raw


def parse_json(raw: bytes) -> Any:
    """Decode a JSON body; :class:`BadRequestError` (400) when it is not JSON."""
    try:
        return json.loads(raw, parse_constant=_no_constants)
    except (ValueError, UnicodeDecodeError):
        raise BadRequestError(
            "the request body is not valid JSON", field="$", fix="send one JSON object encoded as UTF-8"
        ) from None


async def read_json(request: Request, limit: int) -> Any:
    """:func:`read_body` then :func:`parse_json`."""
    return parse_json(await read_body(request, limit))
