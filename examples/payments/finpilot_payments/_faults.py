"""Fault knobs for tests and demos of progressive delivery: a release that fails or is slow on purpose.

Off by default; never set them in production. ``PAYMENTS_FAULT_ERROR_RATE`` (0..1) answers that
share of ``/v1/`` requests with 503 before any work is done, so nothing is recorded and the client
may resend with its key. ``PAYMENTS_FAULT_SLOW_RATE`` (0..1) delays that share of ``/v1/`` requests
by ``PAYMENTS_FAULT_SLOW_MS`` milliseconds before they are served. Probes and metrics are never
touched, so a faulty release still looks healthy to the runtime: only a canary judge catches it.
"""

from __future__ import annotations

import asyncio
import json
import random
from dataclasses import dataclass

from starlette.types import ASGIApp, Receive, Scope, Send


@dataclass(frozen=True)
class FaultKnobs:
    """The shares of requests answered 503 and delayed, and the delay."""

    error_rate: float = 0.0
    slow_rate: float = 0.0
    slow_ms: float = 0.0

    @property
    def active(self) -> bool:
        """Whether any fault is on."""
        return self.error_rate > 0 or (self.slow_rate > 0 and self.slow_ms > 0)


_BODY = json.dumps(
    {"error": "ServiceUnavailable", "message": "injected fault (PAYMENTS_FAULT_ERROR_RATE)", "field": None, "fix": None}
).encode()


class Faults:
    """ASGI middleware applying :class:`FaultKnobs` to ``/v1/`` requests."""

    def __init__(self, app: ASGIApp, knobs: FaultKnobs, rng: random.Random | None = None) -> None:
        self.app = app
        self.knobs = knobs
        self._rng = rng or random.Random()  # nosec B311  # noqa: S311 - a test knob, not a secret

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve one request, maybe failing or delaying it first."""
        if scope["type"] == "http" and str(scope.get("path", "")).startswith("/v1/"):
            if self._rng.random() < self.knobs.error_rate:
                headers = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(_BODY))]
                await send({"type": "http.response.start", "status": 503, "headers": headers})
                await send({"type": "http.response.body", "body": _BODY})
                return
            if self.knobs.slow_ms > 0 and self._rng.random() < self.knobs.slow_rate:
                await asyncio.sleep(self.knobs.slow_ms / 1000)
        await self.app(scope, receive, send)
