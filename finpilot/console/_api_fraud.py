"""REST API of the fraud engine: ``POST /v1/score`` and ``POST /v1/labels``.

Both are mutating requests. ``/v1/score`` is self-auditing: its ``fraud.decision`` entry
names the caller as actor and holds the token id, client and route, so the request-audit
middleware writes no second entry for it (one durable append per scored payment, not two).
``/v1/labels`` gets the usual ``console.request`` entry beside its ``fraud.label``. Without
a model the console still runs and ``/v1/score`` answers 503 with what to do.
"""

from __future__ import annotations

import logging
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Receive, Scope, Send

from finpilot.console._auth import authorised, require
from finpilot.console._http import ERRORS, error_response, read_json, status_for
from finpilot.console._request_audit import caller_evidence, mark_self_audited
from finpilot.console._roles import Permission
from finpilot.console._state import console_state
from finpilot.console._tokens import Principal
from finpilot.core import FinpilotError, InputError
from finpilot.fraud import FraudService, label_from_json, payment_from_json

_log = logging.getLogger("finpilot.console")

_BODY_LIMIT = 8 * 1024

MAX_FUTURE_S = 300
"""How far ahead of the console's clock a payment's ``time`` may be (clock skew), in seconds."""

_SCORE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["transaction_id", "time", "customer_id", "terminal_id", "amount"],
    "properties": {
        "transaction_id": {"type": "string", "maxLength": 128},
        "time": {"oneOf": [{"type": "string", "format": "date-time"}, {"type": "number", "minimum": 0}]},
        "customer_id": {"type": "string", "maxLength": 128},
        "terminal_id": {"type": "string", "maxLength": 128},
        "amount": {"type": "number", "exclusiveMinimum": 0, "exclusiveMaximum": 1e9},
    },
    "additionalProperties": False,
}
_LABEL_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["transaction_id", "fraud", "source"],
    "properties": {
        "transaction_id": {"type": "string", "maxLength": 128},
        "fraud": {"type": "boolean"},
        "source": {"enum": ["chargeback", "analyst"]},
        "known_at": {"oneOf": [{"type": "string", "format": "date-time"}, {"type": "number", "minimum": 0}]},
    },
    "additionalProperties": False,
}


def _json_body(schema: dict[str, Any]) -> dict[str, Any]:
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": schema}}}}


router = APIRouter(prefix="/v1", tags=["fraud"], responses=ERRORS)

Scorer = Annotated[Principal, Depends(require(Permission.FRAUD))]


def _unavailable(problem: str) -> JSONResponse:
    body = {
        "error": "ModelUnavailable",
        "message": problem,
        "field": "fraud.model_dir",
        "fix": "run `finpilot fraud train --csv FILE --out DIR`, set fraud.model_dir to DIR and restart",
    }
    return JSONResponse(body, status_code=503)


SCORE_PATH = "/v1/score"


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
    service: FraudService | None = state.fraud
    if service is None:
        return _unavailable(state.fraud_problem)
    caller = caller_evidence(request.scope)
    decision, index, recorded = await run_in_threadpool(
        lambda: service.score_recorded(payment, actor=who.actor, caller=caller)
    )
    if recorded:
        mark_self_audited(request.scope, index)
    return JSONResponse({**decision.to_json(), "audit_index": index})


@router.post(
    "/score",
    summary="Score one payment and decide: approve, review, decline or freeze_account",
    openapi_extra=_json_body(_SCORE_SCHEMA),
    responses={503: {"description": "no fraud model is loaded"}},
)
async def score(request: Request, who: Scorer) -> Any:
    """``{decision, score, reasons, model_version, policy_id, audit_index}``; in the ledger on return."""
    return await _score(request, who)


class ScoreFastPath:
    """Serves ``POST /v1/score`` ahead of FastAPI's router: the same handler, auth and errors.

    At hundreds of calls a second, route matching, dependency solving and FastAPI's inner
    middleware cost about as much CPU as scoring itself. This ASGI layer sits inside the
    console's own middleware (metrics, security headers, request audit all still apply) and
    answers exactly ``POST /v1/score``; every other request, ``/v1/score/`` included, goes on to
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
            if status_for(exc) >= 500:
                _log.warning("request failed: %s: %s", type(exc).__name__, exc.message)
            response = error_response(exc)
        await response(scope, receive, send)


@router.post(
    "/labels",
    status_code=202,
    summary="Record a late label (chargeback or analyst verdict) for a scored payment",
    openapi_extra=_json_body(_LABEL_SCHEMA),
    responses={503: {"description": "no fraud model is loaded"}},
)
async def labels(request: Request, who: Scorer) -> Any:
    """Accepted: the label is in the ledger and queued for the features from ``known_at`` on."""
    state = console_state(request)
    label = label_from_json(await read_json(request, _BODY_LIMIT))
    service: FraudService | None = state.fraud
    if service is None:
        return _unavailable(state.fraud_problem)
    index = await run_in_threadpool(
        service.label, label.tx_id, label.fraud, label.source, label.known_at, actor=who.actor
    )
    return {"audit_index": index}
