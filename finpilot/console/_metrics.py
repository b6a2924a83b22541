"""Prometheus metrics for one console app, in a registry of its own (not the process-global one),
so two apps in one process (tests, embedding) never share or clash over series."""

from __future__ import annotations

import time
from collections.abc import Iterable
from datetime import datetime

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from finpilot.audit import Ledger
from finpilot.core import Clock


def route_label(scope: Scope) -> str:
    """The matched route's path template, so labels stay few; ``unmatched`` for 404s."""
    route = scope.get("route")
    path = getattr(route, "path", None)
    return path if isinstance(path, str) and path else "unmatched"


class _LedgerCollector:
    """Reads the ledger at scrape time, so the gauges are never stale."""

    def __init__(self, ledger: Ledger, clock: Clock) -> None:
        self._ledger = ledger
        self._clock = clock

    def _families(self) -> tuple[GaugeMetricFamily, GaugeMetricFamily, GaugeMetricFamily]:
        return (
            GaugeMetricFamily("finpilot_audit_ledger_size", "Entries in the audit ledger."),
            GaugeMetricFamily("finpilot_audit_checkpoint_size", "Tree size of the latest signed checkpoint."),
            GaugeMetricFamily(
                "finpilot_audit_checkpoint_age_seconds", "Seconds since the latest checkpoint was signed."
            ),
        )

    def describe(self) -> Iterable[Metric]:
        """Names only; registering must not touch the ledger."""
        return self._families()

    def collect(self) -> Iterable[Metric]:
        """Current values."""
        size, cp_size, cp_age = self._families()
        size.add_metric([], self._ledger.size)
        latest = self._ledger.latest_checkpoint()
        if latest is None:
            return [size]
        cp_size.add_metric([], latest.size)
        made = datetime.fromisoformat(latest.created_at)
        cp_age.add_metric([], max(0.0, (self._clock() - made).total_seconds()))
        return [size, cp_size, cp_age]


class ConsoleMetrics:
    """The console's registry: request counts and latency by route, refusals, and ledger gauges."""

    def __init__(self, ledger: Ledger, clock: Clock) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "finpilot_console_requests",
            "HTTP requests served, by method, route template and status.",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "finpilot_console_request_seconds",
            "Time to serve an HTTP request, by method and route template.",
            ["method", "route"],
            registry=self.registry,
        )
        self.refusals = Counter(
            "finpilot_console_refusals",
            "Requests refused as not authenticated (401) or not allowed (403), or rate-limited (429), by status.",
            ["status"],
            registry=self.registry,
        )
        self.registry.register(_LedgerCollector(ledger, clock))

    def exposition(self) -> bytes:
        """The registry in Prometheus text format."""
        return generate_latest(self.registry)


class MetricsMiddleware:
    """Counts and times every HTTP request; pure ASGI, so streaming responses are not buffered."""

    def __init__(self, app: ASGIApp, metrics: ConsoleMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve one request and record it."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def observe(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, observe)
        finally:
            route = route_label(scope)
            method = str(scope["method"])
            self.metrics.requests.labels(method, route, str(status)).inc()
            self.metrics.latency.labels(method, route).observe(time.perf_counter() - started)
