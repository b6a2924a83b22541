"""The service's edge, outside everything else (its error middleware included): a body limit and
security headers on every response, the 500s of the last-resort handler too.

A body over ``max_body_bytes`` is refused with 413 before routing or parsing see it: at once when
Content-Length says so, else as soon as the streamed bytes pass it, leaving the rest unread.
Plain ASGI; finpilot's servers have the same edge, but this application imports nothing from finpilot.
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import FastAPI
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from finpilot_payments._errors import PayloadTooLargeError
from finpilot_payments._faults import FaultKnobs, Faults

HEADERS = (
    (b"content-security-policy", b"default-src 'none'; frame-ancestors 'none'"),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"cache-control", b"no-store"),  # answers hold balances and authorizations
)
"""Added to every response that does not set them itself."""


class _Cut(Exception):
    """The streamed body passed the limit; the 413 has been sent."""


async def _refuse(send: Send, limit: int) -> None:
    body = json.dumps(PayloadTooLargeError(f"the request body is larger than {limit} bytes").to_dict()).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(body))]
    await send({"type": "http.response.start", "status": 413, "headers": [*headers, (b"connection", b"close")]})
    await send({"type": "http.response.body", "body": body})


class Edge:
    """:data:`HEADERS` on every response; 413 for a body over ``limit`` bytes."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve one request."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        state: dict[str, Any] = {"seen": 0, "started": False, "refused": False}

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                names = {bytes(name).lower() for name, _ in message.get("headers", ())}
                message["headers"] = [*message.get("headers", ()), *(h for h in HEADERS if h[0] not in names)]
                state["started"] = True
            await send(message)

        length = dict(scope.get("headers", ())).get(b"content-length", b"")
        if length.isdigit() and int(length) > self.limit:
            await _refuse(with_headers, self.limit)
            return

        async def counted() -> Message:
            message = await receive()
            state["seen"] += len(message.get("body", b""))
            if state["seen"] > self.limit:
                if not state["started"]:
                    state["refused"] = True
                    await _refuse(with_headers, self.limit)
                raise _Cut
            return message

        async def guarded(message: Message) -> None:
            if not state["refused"]:  # once the 413 is out, the application's answer is dropped
                await with_headers(message)

        try:
            await self.app(scope, counted, guarded)
        except _Cut:
            pass
        except Exception:
            if not state["refused"]:
                raise


class PaymentsApp(FastAPI):
    """FastAPI with :class:`Edge` outside its whole middleware stack."""

    max_body_bytes = 1024 * 1024
    faults = FaultKnobs()

    def build_middleware_stack(self) -> ASGIApp:
        """Starlette's stack behind the edge (and behind the fault knobs, when a test turned them on)."""
        inner = super().build_middleware_stack()
        if self.faults.active:
            inner = Faults(inner, self.faults)
        return Edge(inner, self.max_body_bytes)
