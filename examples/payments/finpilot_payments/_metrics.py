"""Prometheus metrics in a registry of the app's own, so two apps in one process never clash."""

from __future__ import annotations

import time

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from starlette.types import ASGIApp, Message, Receive, Scope, Send


def route_label(scope: Scope) -> str:
    """The matched route's template (few label values); ``unmatched`` otherwise."""
    path = getattr(scope.get("route"), "path", None)
    return path if isinstance(path, str) and path else "unmatched"


class PaymentsMetrics:
    """Requests, latency, errors and decisions."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "payments_requests",
            "HTTP requests by method, route and status.",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "payments_request_seconds",
            "Time to serve a request, by method and route.",
            ["method", "route"],
            registry=self.registry,
        )
        self.errors = Counter(
            "payments_errors",
            "Requests refused or failed, by route and error type.",
            ["route", "error"],
            registry=self.registry,
        )
        self.decisions = Counter(
            "payments_decisions", "Authorization decisions honoured, by action.", ["action"], registry=self.registry
        )

    def exposition(self) -> bytes:
        """The registry in Prometheus text format."""
        return generate_latest(self.registry)


class MetricsMiddleware:
    """Counts and times every HTTP request, and adds the version header (pure ASGI)."""

    def __init__(self, app: ASGIApp, metrics: PaymentsMetrics, version: str) -> None:
        self.app = app
        self.metrics = metrics
        self.version = version.encode()

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
                message["headers"] = [*message.get("headers", []), (b"x-payments-version", self.version)]
            await send(message)

        try:
            await self.app(scope, receive, observe)
        finally:
            route, method = route_label(scope), str(scope["method"])
            self.metrics.requests.labels(method, route, str(status)).inc()
            self.metrics.latency.labels(method, route).observe(time.perf_counter() - started)
