"""The console's side of the one HTTP convention: errors become responses, request bodies become JSON.

The status and body of every error come from :func:`finpilot.core.http_status` and
:func:`finpilot.core.error_body` (the table is in :mod:`finpilot.core._http_errors`), the same
mapping the runtime controller uses. Nothing a client sent is ever echoed back: bodies may
hold card numbers or tokens.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from finpilot.core import (
    BadRequestError,
    FinpilotError,
    NotFoundError,
    PayloadTooLargeError,
    error_body,
    error_headers,
    error_responses,
    http_status,
    validation_error,
)

_log = logging.getLogger("finpilot.console")

ERRORS: dict[int | str, dict[str, Any]] = error_responses(400, 401, 403, 404, 413, 422, 503)
"""OpenAPI documentation of the error responses every API route may give."""


def error_response(exc: FinpilotError) -> JSONResponse:
    """The JSON response for an error."""
    status = http_status(exc)
    if status >= 500:
        # Server-side trouble deserves a log line; client mistakes do not.
        _log.warning("request failed: %s: %s", type(exc).__name__, exc.message)
    return JSONResponse(error_body(exc), status_code=status, headers=error_headers(status))


async def _finpilot_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, FinpilotError)
    return error_response(exc)


async def _validation_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    # FastAPI's own body would echo the offending input; say what was wrong, not what was sent.
    return error_response(validation_error(exc.errors()))


async def _http_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    if exc.status_code == 404:
        body = error_body(NotFoundError("no such page or endpoint", fix="see /openapi.json for the API"))
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
