"""The REST API: ``/v1/...``. Every call needs a bearer token; every POST an ``Idempotency-Key`` header.

Reads need any valid token; each mutation needs its scope (see :mod:`finpilot_payments._auth`).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Request, Security
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from finpilot_payments._auth import ADMIN, Principal, TokenStore
from finpilot_payments._errors_http import ERRORS
from finpilot_payments._idempotency import Outcome, check_key
from finpilot_payments._metrics import PaymentsMetrics
from finpilot_payments._models import AccountIn, AmountIn, AuthorizeIn, CardIn, ErrorOut, TransferIn
from finpilot_payments._service import PaymentsService

router = APIRouter(
    prefix="/v1",
    responses={
        **ERRORS,
        401: {"model": ErrorOut, "description": "no valid bearer token (`WWW-Authenticate: Bearer`)"},
        403: {"model": ErrorOut, "description": "the token lacks the scope named (or the account is frozen)"},
    },
)
_bearer = HTTPBearer(
    auto_error=False, description="An API token (`pay_...`) with the scopes the call needs; any valid token reads."
)

KeyHeader = Annotated[
    str | None,
    Header(alias="Idempotency-Key", description="Unique per intended operation; resend it on retries."),
]


async def _service(request: Request) -> PaymentsService:
    # async on purpose: FastAPI runs a plain ``def`` dependency on a worker thread, one more
    # thread hop per request for an attribute read (about a tenth of a request's CPU, profiled).
    service: PaymentsService = request.app.state.service
    return service


Service = Annotated[PaymentsService, Depends(_service)]


async def _principal(
    request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Security(_bearer)]
) -> Principal:
    tokens: TokenStore = request.app.state.tokens
    token = None if credentials is None else credentials.credentials
    hit = tokens.cached(token)
    # A miss reads the database: on a worker thread, never blocking the event loop.
    return hit if hit is not None else await run_in_threadpool(tokens.authenticate, token)


Caller = Annotated[Principal, Depends(_principal)]
"""Any valid token: what every read needs."""


def _needs(scope: str, what: str = "this call") -> Callable[[Principal], Awaitable[Principal]]:
    async def check(principal: Caller) -> Principal:
        principal.require(scope, what)
        return principal

    return check


AccountsWriter = Annotated[Principal, Depends(_needs("accounts:write"))]
Authorizer = Annotated[Principal, Depends(_needs("payments:authorize"))]
Capturer = Annotated[Principal, Depends(_needs("payments:capture"))]
Admin = Annotated[Principal, Depends(_needs(ADMIN, "a transfer (it moves money with no card and no decision)"))]


def _respond(request: Request, outcome: Outcome) -> JSONResponse:
    headers = {"Idempotent-Replayed": "true"} if outcome.replayed else None
    if outcome.decision is not None and not outcome.replayed:
        metrics: PaymentsMetrics = request.app.state.metrics
        metrics.decisions.labels(outcome.decision).inc()
    return JSONResponse(outcome.body, status_code=outcome.status, headers=headers)


@router.post("/accounts", status_code=201)
def create_account(
    body: AccountIn, request: Request, service: Service, caller: AccountsWriter, key: KeyHeader = None
) -> JSONResponse:
    """Open a customer or merchant account (``accounts:write``), or a settlement account (``admin``)."""
    if body.kind == "settlement":  # where money enters the books
        caller.require(ADMIN, "opening a settlement account")
    return _respond(request, service.create_account(check_key(key), body.model_dump()))


@router.get("/accounts/{account_id}")
def get_account(account_id: str, service: Service, _caller: Caller) -> dict[str, Any]:
    """An account: balance, holds, available amount, frozen or not."""
    return service.account(account_id)


@router.post("/accounts/{account_id}/freeze")
def freeze(
    account_id: str, request: Request, service: Service, _caller: AccountsWriter, key: KeyHeader = None
) -> JSONResponse:
    """Freeze an account (``accounts:write``): it cannot pay (HTTP 403) until unfrozen."""
    return _respond(request, service.set_frozen(check_key(key), account_id, frozen=True))


@router.post("/accounts/{account_id}/unfreeze")
def unfreeze(
    account_id: str, request: Request, service: Service, _caller: AccountsWriter, key: KeyHeader = None
) -> JSONResponse:
    """Unfreeze an account (``accounts:write``)."""
    return _respond(request, service.set_frozen(check_key(key), account_id, frozen=False))


@router.post("/cards", status_code=201)
def add_card(
    body: CardIn, request: Request, service: Service, _caller: Authorizer, key: KeyHeader = None
) -> JSONResponse:
    """Tokenise a card (``payments:authorize``): the answer holds a token and the last four digits, never the number."""
    return _respond(request, service.add_card(check_key(key), body.model_dump()))


@router.post("/authorizations", status_code=201)
def authorize(
    body: AuthorizeIn, request: Request, service: Service, _caller: Authorizer, key: KeyHeader = None
) -> JSONResponse:
    """Authorize a card payment (``payments:authorize``): the decider is asked first; a decline is 402."""
    return _respond(request, service.authorize(check_key(key), body.model_dump()))


@router.get("/authorizations/{authorization_id}")
def get_authorization(authorization_id: str, service: Service, _caller: Caller) -> dict[str, Any]:
    """An authorization: status, amounts captured and refunded, and the decision."""
    return service.authorization(authorization_id)


@router.post("/authorizations/{authorization_id}/capture")
def capture(
    authorization_id: str,
    body: AmountIn,
    request: Request,
    service: Service,
    _caller: Capturer,
    key: KeyHeader = None,
) -> JSONResponse:
    """Capture an authorization (``payments:capture``; all of it unless ``amount`` is given); the hold is released."""
    return _respond(request, service.capture(check_key(key), authorization_id, body.model_dump()))


@router.post("/authorizations/{authorization_id}/refunds", status_code=201)
def refund(
    authorization_id: str,
    body: AmountIn,
    request: Request,
    service: Service,
    _caller: Capturer,
    key: KeyHeader = None,
) -> JSONResponse:
    """Refund a captured payment (``payments:capture``), up to what was captured and not yet refunded."""
    return _respond(request, service.refund(check_key(key), authorization_id, body.model_dump()))


@router.post("/transfers", status_code=201)
def transfer(
    body: TransferIn, request: Request, service: Service, _caller: Admin, key: KeyHeader = None
) -> JSONResponse:
    """Move money between two accounts of the same currency (``admin`` only: no card, no decision)."""
    return _respond(request, service.transfer(check_key(key), body.model_dump()))


@router.get("/ledger/check")
def ledger_check(service: Service, _caller: Caller) -> dict[str, Any]:
    """Recompute the double-entry invariants: every transaction balances and the books sum to zero."""
    return service.check_books().to_json()
