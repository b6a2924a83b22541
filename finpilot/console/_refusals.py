"""Refused requests: rate-limited per client address, counted, and summarised in the ledger.

A 401 or 403 spends one of the client's tokens (:class:`finpilot.core.TokenBuckets`, settings
``console.auth_failures``); a client with none left is answered 429 with ``Retry-After`` before
anything else looks at its request. Successful requests spend nothing and pass untouched.

Each refusal counts in a Prometheus counter and in the client's current window. A window
opens at the client's first refusal and lasts ``window_s``; when it ends (or the console
stops) it becomes ONE ``console.refusals`` entry with the counts, the routes and the refused
principals. So invalid access attempts are all recorded (PCI DSS 10.2.1.4) while a flood of
them costs a bounded number of ledger entries: at most one per client and window, and at
most :data:`MAX_SOURCES` open windows (more clients than that share one ``*`` summary).
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass, field

from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from finpilot.audit import Entry, Ledger
from finpilot.audit.kinds import CONSOLE_REFUSALS
from finpilot.console._auth import PRINCIPAL_KEY
from finpilot.console._metrics import ConsoleMetrics
from finpilot.console._request_audit import request_action
from finpilot.console._tokens import Principal
from finpilot.core import (
    AuthFailureSettings,
    Clock,
    MonotonicClock,
    RateLimitedError,
    TokenBuckets,
    error_body,
    http_status,
    rfc3339,
    send_json,
)

MAX_SOURCES = 1024
"""Open windows kept apart; refusals from further clients are counted under the client ``*``."""
_MAX_ROUTES = 32
_MAX_ACTORS = 16
_REFUSED = frozenset({401, 403})


@dataclass(slots=True)
class _Window:
    start: str
    ends_at: float
    counts: dict[int, int] = field(default_factory=lambda: {401: 0, 403: 0, 429: 0})
    routes: dict[str, int] = field(default_factory=dict)
    actors: set[str] = field(default_factory=set)


class RefusalWindows:
    """The open windows, one per client; :meth:`flush` turns ended ones into ledger entries. Thread-safe."""

    def __init__(self, ledger: Ledger, window_s: float, *, clock: Clock, monotonic: MonotonicClock) -> None:
        self.ledger = ledger
        self.window_s = window_s
        self._clock = clock
        self._monotonic = monotonic
        self._open: dict[str, _Window] = {}
        self._lock = threading.Lock()
        self.next_due = math.inf
        """Monotonic time the earliest open window ends (inf when none is open): a lock-free "anything due?"."""

    def record(self, client: str, status: int, route: str | None = None, actor: str | None = None) -> None:
        """Count one refusal (401, 403) or one 429 from ``client``."""
        with self._lock:
            window = self._open.get(client)
            if window is None:
                if len(self._open) >= MAX_SOURCES:
                    client = "*"
                    window = self._open.get(client)
                if window is None:
                    window = _Window(rfc3339(self._clock()), self._monotonic() + self.window_s)
                    self._open[client] = window
                    self.next_due = min(self.next_due, window.ends_at)
            window.counts[status] += 1
            if route is not None:
                key = route if route in window.routes or len(window.routes) < _MAX_ROUTES else "other"
                window.routes[key] = window.routes.get(key, 0) + 1
            if actor is not None and len(window.actors) < _MAX_ACTORS:
                window.actors.add(actor)

    def _take(self, everything: bool) -> list[Entry]:
        with self._lock:
            now = self._monotonic()
            ended = [c for c, w in self._open.items() if everything or w.ends_at <= now]
            entries = [self._entry(client, self._open.pop(client)) for client in ended]
            self.next_due = min((w.ends_at for w in self._open.values()), default=math.inf)
        return entries

    def _entry(self, client: str, window: _Window) -> Entry:
        return CONSOLE_REFUSALS.entry(
            actor="finpilot:console",
            action="summarise",
            subject=f"client:{client}",
            outcome="limited" if window.counts[429] else "refused",
            evidence={
                "client": client,
                "window_start": window.start,
                "window_s": self.window_s,
                "refused_401": window.counts[401],
                "refused_403": window.counts[403],
                "limited_429": window.counts[429],
                "routes": window.routes,
                "actors": sorted(window.actors),
            },
        )

    def flush(self, *, everything: bool = False) -> int:
        """Append one entry per ended window (every open one with ``everything``, at shutdown); how many."""
        entries = self._take(everything)
        if entries:
            self.ledger.append_many(entries)
        return len(entries)

    def due(self) -> bool:
        """Whether a window has ended and waits for :meth:`flush`."""
        return self.next_due <= self._monotonic()


def _client(scope: Scope) -> str:
    client = scope.get("client")
    return str(client[0]) if client else "unknown"


class RefusalGuard:
    """Answers 429 to a client out of tokens; counts and rate-limits every 401 and 403."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        limits: AuthFailureSettings,
        windows: RefusalWindows,
        metrics: ConsoleMetrics,
        monotonic: MonotonicClock,
    ) -> None:
        self.app = app
        self.windows = windows
        self.metrics = metrics
        self.buckets = TokenBuckets(limits.rate_per_s, limits.burst, clock=monotonic)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve one request, or refuse it with 429."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if self.windows.due():
            # The ledger blocks until the entries are on disk; keep that off the event loop.
            await run_in_threadpool(self.windows.flush)
        client = _client(scope)
        wait = self.buckets.wait_s(client)
        if wait > 0:
            await self._limited(client, wait, send)
            return

        async def count_refusals(message: Message) -> None:
            if message["type"] == "http.response.start" and message["status"] in _REFUSED:
                status = int(message["status"])
                principal = scope.get(PRINCIPAL_KEY)
                actor = principal.actor if isinstance(principal, Principal) else None
                self.buckets.take(client)
                self.windows.record(client, status, request_action(scope), actor)
                self.metrics.refusals.labels(str(status)).inc()
            await send(message)

        await self.app(scope, receive, count_refusals)

    async def _limited(self, client: str, wait: float, send: Send) -> None:
        self.windows.record(client, 429)
        self.metrics.refusals.labels("429").inc()
        retry_after = max(1, math.ceil(wait))
        error = RateLimitedError(
            "too many refused requests from this address",
            retry_after_s=retry_after,
            fix=f"check the token, then retry after {retry_after} s",
        )
        await send_json(send, http_status(error), error_body(error), [(b"retry-after", str(retry_after).encode())])
