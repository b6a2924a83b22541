"""REST API of the fraud engine, under ``/api/v1/fraud``::

    POST /api/v1/fraud/scores                               score one payment (FRAUD)
    POST /api/v1/fraud/labels                               a late label (FRAUD)
    GET  /api/v1/fraud/summary                              the Fraud page's data (READ)
    POST /api/v1/fraud/accounts/{customer_id}/freeze        (FREEZE: operator, admin)
    POST /api/v1/fraud/accounts/{customer_id}/unfreeze      (FREEZE)

``POST /api/v1/fraud/scores`` answers only once its decision entry is durable (it awaits the
ledger's group commit on the event loop, see :meth:`FraudService.score_async`), and is
self-auditing: its ``fraud.decision`` entry names the caller as actor and holds the token id,
client and route, so the request-audit middleware writes no second entry for it (one durable
append per scored payment, not two). Every other mutating
call gets the usual ``console.request`` entry beside its own (``fraud.label``,
``fraud.account``). Without a model the console still runs, and the calls that need one
answer 503 (:class:`~finpilot.core.UnavailableError`) with what to do.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Receive, Scope, Send

from finpilot.console._api_models import AccountFreeze, FraudScore, FraudSummary, LabelAccepted
from finpilot.console._auth import authorised, require
from finpilot.console._http import ERRORS, error_response, read_json
from finpilot.console._page_fraud import fraud_summary
from finpilot.console._request_audit import SCORE_PATH, caller_evidence, mark_self_audited
from finpilot.console._roles import Permission
from finpilot.console._state import ConsoleState, console_state
from finpilot.console._tokens import Principal
from finpilot.core import FinpilotError, InputError, NotFoundError, UnavailableError, error_responses
from finpilot.fraud import MAX_AMOUNT, FraudService, label_from_json, payment_from_json

_BODY_LIMIT = 8 * 1024
_REASON_LIMIT = 4 * 1024
_REASON_MAX = 200

MAX_FUTURE_S = 300
"""How far ahead of the console's clock a payment's ``time`` may be (clock skew), in seconds."""

# What check_id enforces, declared: non-blank, at most 128 characters, no control characters.
_ID: dict[str, Any] = {"type": "string", "minLength": 1, "maxLength": 128, "pattern": r"^[^\x00-\x1f]*\S[^\x00-\x1f]*$"}
_TIME: dict[str, Any] = {
    "oneOf": [
        {"type": "string", "format": "date-time", "minLength": 1, "maxLength": 40},
        {"type": "number", "minimum": 0, "maximum": 253_402_300_799},
    ]
}
_SCORE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["transaction_id", "time", "customer_id", "terminal_id", "amount"],
    "properties": {
        "transaction_id": _ID,
        "time": _TIME,
        "customer_id": _ID,
        "terminal_id": _ID,
        "amount": {"type": "number", "exclusiveMinimum": 0, "exclusiveMaximum": MAX_AMOUNT},
    },
    "additionalProperties": False,
}
_LABEL_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["transaction_id", "fraud", "source"],
    "properties": {
        "transaction_id": _ID,
        "fraud": {"type": "boolean"},
        "source": {"enum": ["chargeback", "analyst"]},
        "known_at": _TIME,
    },
    "additionalProperties": False,
}


def _json_body(schema: dict[str, Any]) -> dict[str, Any]:
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": schema}}}}


router = APIRouter(prefix="/api/v1/fraud", tags=["fraud"], responses=ERRORS)

Scorer = Annotated[Principal, Depends(require(Permission.FRAUD))]
Reader = Annotated[Principal, Depends(require(Permission.READ))]
Freezer = Annotated[Principal, Depends(require(Permission.FREEZE))]

_NO_MODEL_FIX = "run `finpilot fraud train --csv FILE --out DIR`, set fraud.model_dir to DIR and restart"


def _service(state: ConsoleState) -> FraudService:
    """The console's fraud service; :class:`UnavailableError` (503) saying what to do when there is none."""
    if state.fraud is None:
        raise UnavailableError(state.fraud_problem, field="fraud.model_dir", fix=_NO_MODEL_FIX)
    return state.fraud


async def _score(request: Request, who: Principal) -> Response:
    state = console_state(request)
    payment = payment_from_json(await read_json(request, _BODY_LIMIT))
    if payment.time > state.clock().timestamp() + MAX_FUTURE_S:
        # The feature windows only move forward: one payment dated next year would age out every window.
        raise InputError(
            f"'time' is more than {MAX_FUTURE_S // 60} minutes in the future",
            field="time",
            fix="send the payment's own time (RFC 3339 with an offset) and check the sender's clock",
        )
    service = _service(state)
    caller = caller_evidence(request.scope)
    # On the event loop itself: scoring is a short CPU step under the service's lock, and the
    # wait for the durable append holds no thread (the ledger's writer resumes this coroutine).
    decision, index, recorded = await service.score_async(payment, actor=who.actor, caller=caller)
    if recorded:
        mark_self_audited(request.scope, index)
    return JSONResponse({**decision.to_json(), "audit_index": index})


@router.post(
    "/scores",
    response_model=FraudScore,
    summary="Score one payment and decide: approve, review, decline or freeze_account",
    openapi_extra=_json_body(_SCORE_SCHEMA),
)
async def score(request: Request, who: Scorer) -> Any:
    """``{decision, score, reasons, model_version, policy_id, audit_index}``; in the ledger on return."""
    return await _score(request, who)


class ScoreFastPath:
    """Serves ``POST /api/v1/fraud/scores`` ahead of FastAPI's router: the same handler, auth and errors.

    At hundreds of calls a second, route matching, dependency solving and FastAPI's inner
    middleware cost about as much CPU as scoring itself. This ASGI layer sits inside the
    console's own middleware (metrics, security headers, request audit all still apply) and
    answers exactly ``POST /api/v1/fraud/scores``; every other request, the path with a trailing
    slash included, goes on to
    FastAPI, whose route above documents the endpoint in OpenAPI.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        # The route object the metrics and the request audit label a request by.
        self._route = next(r for r in router.routes if getattr(r, "path", None) == SCORE_PATH)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve one request."""
        if scope["type"] != "http" or scope["path"] != SCORE_PATH or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        scope["route"] = self._route
        request = Request(scope, receive)
        response: Response
        try:
            response = await _score(request, await authorised(request, Permission.FRAUD))
        except FinpilotError as exc:
            response = error_response(exc)
        await response(scope, receive, send)


@router.post(
    "/labels",
    status_code=202,
    response_model=LabelAccepted,
    summary="Record a late label (chargeback or analyst verdict) for a scored payment",
    openapi_extra=_json_body(_LABEL_SCHEMA),
)
async def labels(request: Request, who: Scorer) -> Any:
    """Accepted: the label is in the ledger and queued for the features from ``known_at`` on."""
    state = console_state(request)
    label = label_from_json(await read_json(request, _BODY_LIMIT))
    service = _service(state)
    index = await run_in_threadpool(
        service.label, label.tx_id, label.fraud, label.source, label.known_at, actor=who.actor
    )
    return {"audit_index": index}


@router.get(
    "/summary",
    response_model=FraudSummary,
    summary="Live fraud statistics, drift, model and alerts (the Fraud page's data)",
)
def summary(request: Request, _who: Reader) -> dict[str, Any]:
    """Decisions per minute by action over the last hour, decline rate, top reasons, labels, models,
    frozen accounts, drift status and the recent alerts with their suppressed repeats."""
    return fraud_summary(console_state(request))


async def _reason(request: Request) -> str:
    # JSON only (``{}`` at least), like every API body: a cross-site HTML form can never post here.
    body = await read_json(request, _REASON_LIMIT)
    if not isinstance(body, dict) or set(body) - {"reason"}:
        raise InputError("the body may only hold {'reason': text}", field="reason")
    reason = body.get("reason", "")
    if not isinstance(reason, str) or len(reason) > _REASON_MAX:
        raise InputError(f"'reason' must be text of at most {_REASON_MAX} characters", field="reason")
    return reason.strip()


_REASON_BODY = _json_body(
    {
        "type": "object",
        "properties": {"reason": {"type": "string", "maxLength": _REASON_MAX}},
        "additionalProperties": False,
    }
)


@router.post(
    "/accounts/{customer_id}/freeze",
    response_model=AccountFreeze,
    summary="Freeze an account: its payments are declined until it is unfrozen",
    openapi_extra=_REASON_BODY,
)
async def freeze(request: Request, customer_id: str, who: Freezer) -> dict[str, Any]:
    """Body: ``{}`` or ``{"reason": text}``. Answers ``{customer_id, frozen: true, audit_index}``."""
    state = console_state(request)
    reason = await _reason(request)
    service = _service(state)
    index = await run_in_threadpool(
        service.freeze_account, customer_id, actor=who.actor, reason=reason or "frozen from the console"
    )
    return {"customer_id": customer_id, "frozen": True, "audit_index": index}


@router.post(
    "/accounts/{customer_id}/unfreeze",
    response_model=AccountFreeze,
    summary="Lift an account's freeze",
    responses=error_responses(404),
    openapi_extra=_REASON_BODY,
)
async def unfreeze(request: Request, customer_id: str, who: Freezer) -> dict[str, Any]:
    """Body: ``{}`` or ``{"reason": text}``. Answers ``{customer_id, frozen: false, audit_index}``;
    404 when the account is not frozen."""
    state = console_state(request)
    reason = await _reason(request)
    service = _service(state)
    if not service.is_frozen(customer_id):
        raise NotFoundError("the account is not frozen", field="customer_id")
    index = await run_in_threadpool(
        service.unfreeze_account, customer_id, actor=who.actor, reason=reason or "unfrozen from the console"
    )
    return {"customer_id": customer_id, "frozen": False, "audit_index": index}
