"""The console's side of the one HTTP convention: errors become responses, request bodies become JSON.

The status and body of every error come from :func:`finpilot.core.http_status` and
:func:`finpilot.core.error_body` (the table is in :mod:`finpilot.core._http_errors`), the same
mapping the runtime controller uses. Nothing a client sent is ever echoed back: bodies may
hold card numbers or tokens.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from finpilot.core import (
    BadRequestError,
    FinpilotError,
    NotFoundError,
    PayloadTooLargeError,
    error_body,
    error_headers,
    error_responses,
    http_status,
    parse_json_body,
    validation_error,
)

_log = logging.getLogger("finpilot.console")

ERRORS: dict[int | str, dict[str, Any]] = error_responses(400, 401, 403, 404, 413, 422, 429, 503)
"""OpenAPI documentation of the error responses every API route may give."""

JSON_ERRORS_BESIDE_TEXT: dict[int | str, dict[str, Any]] = {
    status: {
        "description": response["description"],
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}},
    }
    for status, response in ERRORS.items()
}
""":data:`ERRORS` for a route whose own answer is not JSON (``response_class=PlainTextResponse``).

FastAPI files a response ``model`` under the route's media type, so ERRORS there would say
a 401 is ``text/plain``; the errors are JSON like everywhere else, and say so by reference."""


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


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    if exc.status_code == 404:
        body = error_body(NotFoundError("no such page or endpoint", fix="see /openapi.json for the API"))
    else:
        body = {"error": "HTTPError", "message": str(exc.detail), "field": None, "fix": None}
    headers = dict(exc.headers or {})
    if exc.status_code == 405:
        headers["Allow"] = _allowed(request) or headers.get("Allow", "")
    return JSONResponse(body, status_code=exc.status_code, headers=headers or None)


def _allowed(request: Request) -> str:
    # Starlette's Allow names only the first route whose path matched; a path served by two
    # routes (GET and POST /api/v1/audit/entries) allows the methods of both. Asking the
    # router about each method needs no knowledge of how routers nest.
    routes = request.app.router.routes
    return ", ".join(
        method
        for method in _METHODS
        if any(route.matches({**request.scope, "method": method})[0] is Match.FULL for route in routes)
    )


_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE")


def install_error_handlers(app: FastAPI) -> None:
    """Map finpilot errors, validation errors and routing errors to JSON bodies."""
    app.add_exception_handler(FinpilotError, _finpilot_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)


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
    """Decode a JSON body; :class:`BadRequestError` (400) when it is not JSON or nests too deep."""
    return parse_json_body(raw)


async def read_json(request: Request, limit: int) -> Any:
    """:func:`read_body` then :func:`parse_json`."""
    return parse_json(await read_body(request, limit))
