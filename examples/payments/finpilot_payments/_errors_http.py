"""The one place errors become HTTP responses. Nothing the client sent is ever echoed back."""

from __future__ import annotations

import logging
import re
import unicodedata
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from finpilot_payments._errors import AuthenticationError, InputError, NotFoundError, PaymentsError, ScopeError
from finpilot_payments._metrics import PaymentsMetrics, route_label
from finpilot_payments._models import ErrorOut

_log = logging.getLogger("finpilot_payments")
# Thirteen or more digits could be a card number: never repeat them. Digits of any script count
# (\d is Unicode; NFKC first turns superscript, circled and similar forms into digits), and so
# does any mix of spaces, dots, dashes, underscores and invisible characters between them.
_DIGIT_RUN = re.compile(r"\d(?:[\s._\-\u2010-\u2015\u2212\u00ad\u200b-\u200d\u2060\ufeff]*\d){12,}")


_MEANINGS = {
    400: "the body is not JSON",
    402: "the payment was refused (recorded)",
    403: "the paying account is frozen",
    404: "no such account, card or authorization",
    409: "the object's state forbids it, or the Idempotency-Key was used for another request",
    422: "invalid input (names the field)",
    503: "the database failed; a retry may help",
}
ERRORS: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorOut, "description": meaning} for status, meaning in _MEANINGS.items()
}
"""OpenAPI documentation of the error answers an API route may give."""


def scrub(text: str) -> str:
    """``text`` (NFKC-normalised) with any run of 13 or more digits replaced."""
    return _DIGIT_RUN.sub("[redacted]", unicodedata.normalize("NFKC", text))


def _respond(request: Request, exc: PaymentsError) -> JSONResponse:
    metrics: PaymentsMetrics = request.app.state.metrics
    metrics.errors.labels(route_label(request.scope), type(exc).__name__).inc()
    if exc.status >= 500:
        _log.warning("request failed: %s: %s", type(exc).__name__, scrub(exc.message))
    body = {key: None if value is None else scrub(value) for key, value in exc.to_dict().items()}
    headers = None
    if isinstance(exc, AuthenticationError):  # RFC 6750: say how to authenticate
        headers = {"WWW-Authenticate": 'Bearer realm="finpilot_payments"'}
    elif isinstance(exc, ScopeError):
        challenge = f'Bearer realm="finpilot_payments", error="insufficient_scope", scope="{exc.scope}"'
        headers = {"WWW-Authenticate": challenge}
    return JSONResponse(body, status_code=exc.status, headers=headers)


async def _payments_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, PaymentsError)
    return _respond(request, exc)


def _field_name(loc: list[str]) -> str:
    if loc and loc[0] in {"body", "header", "path", "query"}:
        loc = loc[1:]
    if not loc or loc[0].isdigit():
        return "body"
    return ".".join(loc)


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = exc.errors()
    first: dict[str, Any] = errors[0] if errors else {"loc": (), "msg": "invalid request"}
    name = _field_name([str(part) for part in first.get("loc", ())])
    # FastAPI's own body would echo the offending input (perhaps a card number): say what was
    # wrong, never what was sent.
    missing = first.get("type") == "missing"
    message = f"'{name}' is required" if missing else f"'{name}': {first.get('msg', 'invalid')}"
    # A model's own check (the currency's) puts what to do in its error's context.
    fix = first.get("ctx", {}).get("fix")
    return _respond(request, InputError(message, field=name, fix=fix if isinstance(fix, str) else None))


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    if exc.status_code == 404:
        return _respond(request, NotFoundError("no such endpoint", fix="see /openapi.json"))
    body = {"error": "HTTPError", "message": scrub(str(exc.detail)), "field": None, "fix": None}
    return JSONResponse(body, status_code=exc.status_code, headers=exc.headers)


def install_error_handlers(app: FastAPI) -> None:
    """Map service errors, validation errors and routing errors to JSON bodies."""
    app.add_exception_handler(PaymentsError, _payments_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
