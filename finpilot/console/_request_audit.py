"""Every mutating request leaves an audit entry, written before the client sees the response.

Audited: successful mutations (2xx, 3xx) and refusals (401, 403). Not audited: validation
errors (400, 404, 409, 413, 422), because bad input must change nothing, and server errors.
The entry records who, what route, the status and the client address; never a body, a
cookie or a token.
"""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from finpilot.audit import Entry, Ledger
from finpilot.console._auth import MUTATING, PRINCIPAL_KEY
from finpilot.console._metrics import route_label
from finpilot.console._tokens import Principal


def should_audit(status: int) -> bool:
    """Whether a mutating request that ended with ``status`` is recorded."""
    return 200 <= status < 400 or status in (401, 403)


def request_entry(scope: Scope, status: int) -> Entry:
    """The audit entry for one finished mutating request."""
    principal = scope.get(PRINCIPAL_KEY)
    client = scope.get("client")
    return Entry(
        kind="console.request",
        actor=principal.actor if isinstance(principal, Principal) else "anonymous",
        action=f"{scope['method']} {route_label(scope)}",
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
            if message["type"] == "http.response.start" and should_audit(int(message["status"])):
                # The ledger blocks until the entry is on disk; keep that off the event loop.
                await run_in_threadpool(self.ledger.append, request_entry(scope, int(message["status"])))
            await send(message)

        await self.app(scope, receive, audit_then_send)
