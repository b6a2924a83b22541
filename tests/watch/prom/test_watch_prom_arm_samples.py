"""MetricsSampleSource's arithmetic: requests, errors and latency ranks from counters and buckets.

A fake :class:`MetricsQuery` answers fixed per-second rates (the real-Prometheus path is in
``test_watch_prom_judge.py``); these tests pin the exact counts and the rank reading.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from finpilot.deliver import MetricsSampleSource
from finpilot.deliver._judge._metrics_source import read_ranks
from finpilot.watch import Aggregation, Series

WINDOW = 100.0


class FixedRates:
    """A MetricsQuery whose aggregations answer fixed per-second rates, by metric and arm."""

    def __init__(self, server_errors: float = 0.0) -> None:
        self.asked: list[str] = []
        self.server_errors = server_errors  # the canary's 5xx responses per second

    def describe(self) -> str:
        return "fake:fixed"

    def series(self, selector: str, start: float, end: float) -> list[Series]:
        return []

    def range(self, selector: str, start: float, end: float, step: float) -> list[Series]:
        return []

    def rate(self, selector: str, start: float, end: float, step: float, window: float) -> list[Series]:
        return []

    def histogram_quantile(
        self, q: float, selector: str, start: float, end: float, step: float, window: float, by: Sequence[str] = ()
    ) -> list[Series]:
        return []

    def aggregate(
        self,
        op: Aggregation,
        selector: str,
        start: float,
        end: float,
        step: float,
        by: Sequence[str] = (),
        rate_window: float | None = None,
    ) -> list[Series]:
        self.asked.append(selector)
        canary = "canary" in selector
        name = selector.split("{", 1)[0]
        if name == "finpilot_router_requests_total":
            return [Series(name, {}, ((end, 2.0),))]  # 200 requests in 100 s
        if name == "finpilot_router_errors_total":
            return [Series(name, {}, ((end, 0.1 if canary else 0.0),))]  # 10 errors for the canary
        if name == "finpilot_router_responses_total":
            assert 'code="5xx"' in selector, selector
            return [Series(name, {}, ((end, self.server_errors if canary else 0.0),))]
        buckets = {"0.01": 0.5, "0.1": 1.5, "+Inf": 2.0} if canary else {"0.01": 2.0, "0.1": 2.0, "+Inf": 2.0}
        return [Series(name, {"le": le}, ((end, rate),)) for le, rate in buckets.items()]


def test_counts_errors_and_latency_ranks_come_from_the_increases() -> None:
    query = FixedRates()
    found = MetricsSampleSource(query, clock=lambda: 1_000.0).samples("team/pay", window_s=WINDOW)
    assert len(found.baseline) == 200
    assert len(found.canary) == 200
    assert int(found.canary.error.sum()) == 10
    assert int(found.baseline.error.sum()) == 0
    # Spread evenly: no two errors next to each other among 200 requests.
    assert np.diff(np.flatnonzero(found.canary.error)).min() == 20
    # Baseline: every request in [0, 10 ms]; canary: a quarter under 10 ms, half in (10, 100] ms, a quarter over.
    assert found.baseline.latency_ms.max() <= 10.0
    assert np.count_nonzero(found.canary.latency_ms <= 10.0) == 50
    assert np.count_nonzero(found.canary.latency_ms >= 100.0) == 50
    assert found.canary.timestamp[0] >= 1_000.0 - WINDOW
    assert found.canary.timestamp[-1] < 1_000.0
    assert found.description == "metrics:fake:fixed service=pay window=100s end=1000.000"
    assert 'finpilot_router_requests_total{service="pay", backend=~"pay\\\\-canary/.*"}' in query.asked


@given(
    gains=st.lists(st.floats(0, 1e4), min_size=1, max_size=12),
    n=st.integers(1, 500),
)
def test_ranks_read_in_order_within_the_bucket_bounds(gains: list[float], n: int) -> None:
    bounds = np.cumsum(np.full(len(gains), 0.1))
    counts = np.cumsum(np.array(gains))
    total = float(counts[-1]) + 1.0  # one observation in +Inf
    ranks = (np.arange(n) + 0.5) / n * total
    values = read_ranks(bounds, counts, ranks)
    assert np.all(np.diff(values) >= -1e-12)
    assert values.min() >= 0.0
    assert values.max() <= bounds[-1] + 1e-12


def test_5xx_responses_count_as_errors_with_the_connection_errors() -> None:
    # 10 connection errors and 0.2/s * 100 s = 20 server errors for the canary: 30 failed of 200.
    found = MetricsSampleSource(FixedRates(server_errors=0.2), clock=lambda: 1_000.0).samples("t/pay", window_s=WINDOW)
    assert int(found.canary.error.sum()) == 30
    assert int(found.baseline.error.sum()) == 0


def test_errors_never_exceed_the_requests() -> None:
    # 5/s of 5xx is 500 in the window, more than the 200 requests (scrape skew): every request failed, no more.
    found = MetricsSampleSource(FixedRates(server_errors=5.0), clock=lambda: 1_000.0).samples("t/pay", window_s=WINDOW)
    assert len(found.canary) == 200
    assert bool(found.canary.error.all())
