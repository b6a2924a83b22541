"""Every mutating request leaves an audit entry, written before the client sees the response.

Audited: successful mutations (2xx, 3xx). Refusals (401, 403, 429) are not audited here, one
by one, but counted per client and window in one ``console.refusals`` entry (see
:mod:`finpilot.console._refusals`), so that a flood of them cannot flood the ledger. Not
audited: validation errors (400, 404, 409, 413, 422), because bad input must change nothing,
and server errors. The entry records who, what route, the status and the client address;
never a body, a cookie or a token.

Self-auditing routes (:data:`SELF_AUDITING`) are the one exception: their handler writes an
entry of its own that already records the caller (actor, token id, client and route) and the
outcome, and marks the request with :func:`mark_self_audited`. A second, generic entry would
cost a durable append per call and say nothing new. A call that wrote nothing (a repeated
score answered from memory) is still a ``console.request``.
"""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from finpilot.audit import Entry, Ledger
from finpilot.audit.kinds import CONSOLE_REQUEST
from finpilot.console._auth import MUTATING, PRINCIPAL_KEY
from finpilot.console._metrics import route_label
from finpilot.console._tokens import Principal

SCORE_PATH = "/api/v1/fraud/scores"
"""The fraud scoring route: self-auditing, and served ahead of FastAPI's router (``ScoreFastPath``)."""

SELF_AUDITING = frozenset({f"POST {SCORE_PATH}"})
"""Routes (``METHOD /template``) whose handler's own entry records the call; see :func:`mark_self_audited`."""

_SELF_AUDITED_KEY = "finpilot.self_audited"


def request_action(scope: Scope) -> str:
    """``METHOD /route-template``: the ``action`` of a request entry, and the key of :data:`SELF_AUDITING`."""
    return f"{scope['method']} {route_label(scope)}"


def caller_evidence(scope: Scope) -> dict[str, str | None]:
    """Who called and how, for a self-auditing handler's own entry: the same facts a request entry holds."""
    principal = scope.get(PRINCIPAL_KEY)
    client = scope.get("client")
    return {
        "token_id": principal.token_id if isinstance(principal, Principal) else None,
        "client": client[0] if client else "unknown",
        "request": request_action(scope),
    }


def mark_self_audited(scope: Scope, audit_index: int) -> None:
    """Say that this request's own entry (at ``audit_index``) records it.

    Honoured on :data:`SELF_AUDITING` routes only, and only for a 2xx response.
    """
    scope[_SELF_AUDITED_KEY] = audit_index


def _self_audited(scope: Scope, status: int) -> bool:
    return 200 <= status < 300 and scope.get(_SELF_AUDITED_KEY) is not None and request_action(scope) in SELF_AUDITING


def should_audit(status: int) -> bool:
    """Whether a mutating request that ended with ``status`` is recorded."""
    return 200 <= status < 400


def request_entry(scope: Scope, status: int) -> Entry:
    """The audit entry for one finished mutating request."""
    principal = scope.get(PRINCIPAL_KEY)
    client = scope.get("client")
    return CONSOLE_REQUEST.entry(
        actor=principal.actor if isinstance(principal, Principal) else "anonymous",
        action=request_action(scope),
        subject="console",
        outcome=str(status),
        evidence={
            "client": client[0] if client else "unknown",
            "token_id": principal.token_id if isinstance(principal, Principal) else None,
        },
    )


class RequestAuditMiddleware:
    """Appends :func:`request_entry` to the ledger, holding back the response until it is durable."""

    def __init__(self, app: ASGIApp, ledger: Ledger) -> None:
        self.app = app
        self.ledger = ledger

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve one request; audit it when it mutates."""
        if scope["type"] != "http" or scope["method"] not in MUTATING:
            await self.app(scope, receive, send)
            return

        async def audit_then_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                status = int(message["status"])
                if should_audit(status) and not _self_audited(scope, status):
                    # The ledger blocks until the entry is on disk; keep that off the event loop.
                    await run_in_threadpool(self.ledger.append, request_entry(scope, status))
            await send(message)

        await self.app(scope, receive, audit_then_send)
