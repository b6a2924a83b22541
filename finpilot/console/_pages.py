"""Server-rendered pages: login, home and audit. Capabilities add theirs with :func:`register_page`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any
from urllib.parse import parse_qs, urlencode

import jinja2
from fastapi import APIRouter, Depends, FastAPI, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from finpilot import __version__
from finpilot.console._auth import COOKIE_NAME, authenticate_request, check_same_origin, remember_principal, require
from finpilot.console._roles import Permission
from finpilot.console._state import ConsoleState, NavItem, console_state
from finpilot.console._tokens import Principal
from finpilot.core import MAX_REQUEST_INT, AuthError, BadRequestError

_TEMPLATES = Path(__file__).with_name("templates")
# Long enough for a working day; the token itself may be revoked at any time.
_COOKIE_MAX_AGE = 12 * 3600
_PAGE_ENTRIES = 50
_FORM = "application/x-www-form-urlencoded"

router = APIRouter(include_in_schema=False)


def template_environment() -> jinja2.Environment:
    """The console's Jinja2 environment: autoescaping everywhere, undefined names are errors.

    Every capability's page template lives in ``finpilot/console/templates`` beside ``base.html``.
    """
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(_TEMPLATES),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
    )


def register_page(app: FastAPI, item: NavItem, router: APIRouter | None = None) -> None:
    """Add a page to the navigation bar, and its routes to the app when given."""
    state: ConsoleState = app.state.console
    state.nav.append(item)
    if router is not None:
        app.include_router(router)


def render(
    request: Request,
    template: str,
    context: dict[str, Any],
    *,
    principal: Principal | None,
    status_code: int = 200,
) -> HTMLResponse:
    """Render a page inside the base layout, with the navigation this principal may see."""
    state = console_state(request)
    nav = [item for item in state.nav if principal is not None and principal.can(item.permission)]
    html = state.templates.get_template(template).render(
        nav=nav, current=request.url.path, principal=principal, version=__version__, **context
    )
    return HTMLResponse(html, status_code=status_code)


def safe_next(target: str | None) -> str:
    """A post-login destination on this site only: an absolute path, never ``//host`` or a URL."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


def page_principal(request: Request) -> Principal | None:
    """The signed-in principal, or None when the page should send the browser to /login."""
    try:
        return authenticate_request(request)
    except AuthError:
        return None


def login_redirect(request: Request) -> RedirectResponse:
    """Send the browser to the login form, coming back here afterwards."""
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse(f"{request.app.url_path_for('login_form')}?{urlencode({'next': target})}", status_code=303)


@router.get("/login", name="login_form")
def login_form(request: Request, next_path: Annotated[str, Query(alias="next")] = "/") -> Response:
    """The login form."""
    return render(request, "login.html", {"error": None, "next": safe_next(next_path)}, principal=None)


async def _login_fields(request: Request) -> tuple[str, str]:
    """``token`` and ``next`` from a small url-encoded form; anything else is refused unparsed.

    Only ``application/x-www-form-urlencoded``: a multipart body would be spooled to disk by the
    form parser before the token is even looked at. Its size is capped (413) by the edge
    (``LOGIN_BODY_LIMIT``) before this runs.
    """
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    body = b"" if ctype not in ("", _FORM) else await request.body()
    if ctype != _FORM and (ctype or body):  # no type and no body: an empty form, a wrong token
        raise BadRequestError(
            f"the login form must be sent as {_FORM}",
            field="Content-Type",
            fix="submit the console's login form, or use 'Authorization: Bearer' from scripts",
        )
    try:
        fields = parse_qs(body.decode(), keep_blank_values=True, max_num_fields=8)
    except ValueError:  # not UTF-8 (UnicodeDecodeError is one), or too many fields
        raise BadRequestError("the login form is not a token and a path", field="$") from None
    return fields.get("token", [""])[0], fields.get("next", ["/"])[0]


@router.post("/login")
async def login(request: Request) -> Response:
    """Check the token; on success set the session cookie (which holds the token) and go on."""
    # No session yet, so no cookie to abuse; still refuse a login posted from another site.
    check_same_origin(request, required=False)
    token, next_path = await _login_fields(request)
    try:
        # The token table is read from disk or the database: off the event loop.
        principal = await run_in_threadpool(console_state(request).tokens.authenticate, token.strip())
    except AuthError as exc:
        context = {"error": exc.message, "next": safe_next(next_path)}
        return render(request, "login.html", context, principal=None, status_code=401)
    remember_principal(request, principal)
    response = RedirectResponse(safe_next(next_path), status_code=303)
    response.set_cookie(
        COOKIE_NAME,
        token.strip(),
        max_age=_COOKIE_MAX_AGE,
        path="/",
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )
    return response


@router.post("/logout")
def logout(request: Request, _who: Annotated[Principal, Depends(require(Permission.READ))]) -> Response:
    """Forget the session cookie."""
    response = RedirectResponse(request.app.url_path_for("login_form"), status_code=303)
    response.delete_cookie(COOKIE_NAME, path="/", httponly=True, samesite="strict")
    return response


@router.get("/", name="home")
def home(request: Request) -> Response:
    """Overview: ledger size, latest checkpoint, storage and version."""
    principal = page_principal(request)
    if principal is None:
        return login_redirect(request)
    state = console_state(request)
    context = {
        "size": state.ledger.size,
        "checkpoint": state.ledger.latest_checkpoint(),
        "storage": state.ledger.store.description,
        "origin": state.ledger.origin,
    }
    return render(request, "home.html", context, principal=principal)


@router.get("/audit", name="audit")
def audit_page(request: Request, before: Annotated[int | None, Query(ge=0, le=MAX_REQUEST_INT)] = None) -> Response:
    """The ledger's newest entries, latest checkpoint, verification and downloads."""
    principal = page_principal(request)
    if principal is None:
        return login_redirect(request)
    ledger = console_state(request).ledger
    entries = [(e.index, e.fields) for e in ledger.tail(_PAGE_ENTRIES, before)]
    context = {
        "size": ledger.size,
        "entries": entries,
        "older": entries[-1][0] if entries and entries[-1][0] > 0 else None,
        "checkpoint": ledger.latest_checkpoint(),
        "verifier_key": ledger.verifier_key(),
        "can_verify": principal.can(Permission.VERIFY),
        "can_export": principal.can(Permission.EXPORT),
    }
    return render(request, "audit.html", context, principal=principal)
