"""Who is asking, and may they: bearer tokens for the API, a cookie for the browser.

The cookie carries the token itself (HttpOnly, SameSite=Strict). Because a browser attaches
cookies on its own, a cookie-authenticated mutating request must also come from this very
origin: its Origin (or Referer) host must equal Host, or it is refused with 403.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated
from urllib.parse import urlsplit

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.concurrency import run_in_threadpool
from starlette.requests import HTTPConnection

from finpilot.console._roles import Permission
from finpilot.console._state import console_state
from finpilot.console._tokens import Principal
from finpilot.core import AuthError, PermissionDeniedError

COOKIE_NAME = "finpilot_session"
MUTATING = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# The request-audit middleware reads the principal from here once the handler is done.
PRINCIPAL_KEY = "finpilot.principal"

# Declared so that OpenAPI documents the scheme; the header is parsed in authenticate_request.
_bearer = HTTPBearer(auto_error=False, scheme_name="token", description="An API token: fp_<id>_<secret>.")


def principal_of(conn: HTTPConnection) -> Principal | None:
    """The principal this request authenticated as, if it got that far."""
    found = conn.scope.get(PRINCIPAL_KEY)
    return found if isinstance(found, Principal) else None


def remember_principal(conn: HTTPConnection, principal: Principal) -> None:
    """Record who made this request, for the request audit entry."""
    conn.scope[PRINCIPAL_KEY] = principal


def check_same_origin(request: Request, *, required: bool) -> None:
    """Refuse a request whose Origin/Referer names another host; with ``required``, refuse one naming none."""
    source = request.headers.get("origin") or request.headers.get("referer")
    if source is None and not required:
        return
    host = request.headers.get("host", "").lower()
    # "Origin: null" (sandboxed frames, some redirects) parses to an empty host and is refused.
    if not host or source is None or urlsplit(source).netloc.lower() != host:
        raise PermissionDeniedError(
            "cross-site request refused: the Origin or Referer header must match this console's host",
            fix="submit the form from the console itself, or use 'Authorization: Bearer' from scripts",
        )


def _token_of(request: Request) -> tuple[str | None, bool]:
    """The token the request presents, and whether it came from the session cookie."""
    header = request.headers.get("authorization")
    if header is not None:
        scheme, _, value = header.partition(" ")
        if scheme.lower() != "bearer":
            raise AuthError("the Authorization header must read 'Bearer <token>'", field="Authorization")
        return value.strip(), False
    return request.cookies.get(COOKIE_NAME), True


def _accept(request: Request, principal: Principal, from_cookie: bool) -> Principal:
    remember_principal(request, principal)
    if from_cookie and request.method in MUTATING:
        check_same_origin(request, required=True)
    return principal


def authenticate_request(request: Request) -> Principal:
    """Authenticate by bearer token, else by session cookie; apply the CSRF rule to cookie-authenticated writes."""
    token, from_cookie = _token_of(request)
    return _accept(request, console_state(request).tokens.authenticate(token), from_cookie)


async def authenticate_request_async(request: Request) -> Principal:
    """:func:`authenticate_request` for the event loop: a recently verified token is answered from
    memory; only a miss goes to a worker thread, because it reads the token table."""
    token, from_cookie = _token_of(request)
    tokens = console_state(request).tokens
    principal = tokens.cached(token)
    if principal is None:
        principal = await run_in_threadpool(tokens.authenticate, token)
    return _accept(request, principal, from_cookie)


async def authorised(request: Request, permission: Permission) -> Principal:
    """The authenticated principal, if its role grants ``permission``; else :class:`PermissionDeniedError`."""
    principal = await authenticate_request_async(request)
    if not principal.can(permission):
        raise PermissionDeniedError(
            f"role '{principal.role}' does not have the '{permission}' permission",
            fix="ask an admin for a token with a role that has it",
        )
    return principal


def require(permission: Permission) -> Callable[..., Awaitable[Principal]]:
    """A FastAPI dependency: the authenticated principal, if its role grants ``permission``."""

    # Async, so that FastAPI runs it on the event loop: a sync dependency would cost a trip
    # to a worker thread on every request, cache hit or not.
    async def dependency(
        request: Request,
        _credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    ) -> Principal:
        return await authorised(request, permission)

    return dependency
