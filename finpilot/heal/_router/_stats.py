"""Per-replica router metrics: counters, a recent-latency window for p50/p99, and Prometheus text.

Counters are plain integers updated on the router's event loop (one thread), so they need no
lock. Percentiles come from the last ``WINDOW`` latencies rather than from histogram buckets,
because operators compare them with the benchmark's exact figures; the Prometheus histogram
carries the bucketed view for dashboards.
"""

from __future__ import annotations

import contextlib
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric

WINDOW = 4096
_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


def percentile(sorted_values: list[float], q: float) -> float:
    """Nearest-rank percentile of an already sorted list (q in 0..100); 0.0 when empty."""
    if not sorted_values:
        return 0.0
    rank = max(0, min(len(sorted_values) - 1, -(-int(q * len(sorted_values)) // 100) - 1))
    return sorted_values[rank]


@dataclass(slots=True)
class BackendStats:
    """What the router saw of one replica since it was added."""

    requests: int = 0  # attempts sent to this replica (a retried request counts once per replica tried)
    errors: int = 0  # attempts that failed at the connection level or broke mid-response
    retries: int = 0  # attempts sent here as the retry of a failed attempt on another replica
    in_flight: int = 0
    connects: int = 0  # upstream connections opened (few, when keep-alive works)
    connect_failures: int = 0
    status: dict[str, int] = field(default_factory=dict)  # "2xx" -> count
    latencies: deque[float] = field(default_factory=lambda: deque(maxlen=WINDOW))

    def snapshot(self) -> dict[str, Any]:
        """A JSON-ready copy with p50/p99 in milliseconds over the recent window."""
        ordered = sorted(self.latencies)
        return {
            "requests": self.requests,
            "errors": self.errors,
            "retries": self.retries,
            "in_flight": self.in_flight,
            "connects": self.connects,
            "connect_failures": self.connect_failures,
            "status": dict(self.status),
            "p50_ms": round(percentile(ordered, 50) * 1000, 3),
            "p99_ms": round(percentile(ordered, 99) * 1000, 3),
            "window": len(ordered),
        }


class RouterMetrics:
    """One Prometheus registry per router, so several routers in one process never collide.

    Counters and gauges are read from the plain per-replica counters at scrape time (a custom
    collector), so the hot path never takes prometheus_client's locks; only the latency histogram is
    observed per request, because its buckets cannot be rebuilt from the recent-latency window.
    """

    def __init__(self, service: str) -> None:
        self.service = service
        self.registry = CollectorRegistry(auto_describe=True)
        self._backends: dict[str, BackendStats] = {}
        self._ready: dict[str, bool] = {}
        self.registry.register(self)  # a Collector is anything with collect()
        self.latency = Histogram(
            "finpilot_router_upstream_seconds",
            "Time from sending a request to a replica until its response was fully relayed",
            ["service", "backend"],
            buckets=_BUCKETS,
            registry=self.registry,
        )
        self.rejected = Counter(
            "finpilot_router_rejected",
            "Requests the router answered itself (4xx/5xx)",
            ["service", "status"],
            registry=self.registry,
        )

    def collect(self) -> Iterator[Metric]:
        """The per-replica counters and gauges, as of the last ``export`` call."""
        labels = ["service", "backend"]
        families: dict[str, CounterMetricFamily | GaugeMetricFamily] = {
            "requests": CounterMetricFamily("finpilot_router_requests", "Attempts sent to a replica", labels=labels),
            "errors": CounterMetricFamily(
                "finpilot_router_errors", "Attempts that failed at the connection level", labels=labels
            ),
            "retries": CounterMetricFamily(
                "finpilot_router_retries", "Attempts that retried a failure on another replica", labels=labels
            ),
            "in_flight": GaugeMetricFamily("finpilot_router_in_flight", "Attempts in progress", labels=labels),
        }
        ready = GaugeMetricFamily("finpilot_router_backend_ready", "1 when the replica gets traffic", labels=labels)
        # The replica's own answers by status class: a 5xx is a failure the judge must count, though
        # the connection worked (finpilot_router_errors counts only connection-level failures).
        responses = CounterMetricFamily(
            "finpilot_router_responses",
            "Responses relayed from a replica, by status class (code = 2xx, 3xx, 4xx, 5xx)",
            labels=[*labels, "code"],
        )
        for backend_id, stats in self._backends.items():
            key = [self.service, backend_id]
            for name, family in families.items():
                family.add_metric(key, getattr(stats, name))
            ready.add_metric(key, 1 if self._ready.get(backend_id) else 0)
            for code, count in sorted(stats.status.items()):
                responses.add_metric([*key, code], count)
        yield from families.values()
        yield ready
        yield responses

    def export(self, backends: dict[str, BackendStats], ready: dict[str, bool]) -> bytes:
        """Prometheus text exposition of the given replicas' state."""
        self._backends = backends
        self._ready = ready
        return generate_latest(self.registry)

    def forget(self, backend_id: str) -> None:
        """Drop a removed replica's latency series."""
        with contextlib.suppress(KeyError):
            self.latency.remove(self.service, backend_id)
