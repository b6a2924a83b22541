"""The canary judge reading both arms through a real Prometheus (MetricsSampleSource over PrometheusQuery).

An exposition server stands in for the router: per replica, ``finpilot_router_requests_total``,
``finpilot_router_errors_total`` and the ``finpilot_router_upstream_seconds`` histogram, with the
router's names and labels, growing at a pace the test sets. Two rollouts share it: in ``pay-good``
the canary behaves like the baseline, in ``pay-bad`` it errs more and is slower.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from prometheus_client import CollectorRegistry, start_http_server
from prometheus_client.core import CounterMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector
from starlette.testclient import TestClient
from watch_prom_helpers import running_prometheus, scrape_config, wait_for

from finpilot.audit import open_ledger
from finpilot.console import create_app, open_token_store
from finpilot.core import FakeClock, InputError, NotFoundError, Settings, WatchSettings
from finpilot.deliver import JudgeConfig, MetricsSampleSource, judge
from finpilot.deliver._judge._metrics_source import read_ranks
from finpilot.watch import PrometheusQuery

PACE = 300.0  # requests per second per replica
BOUNDS = ("0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1.0")
HEALTHY = (0.05, 0.5, 0.85, 0.97, 0.995, 1.0, 1.0, 1.0)
SLOW = (0.0, 0.05, 0.3, 0.6, 0.8, 0.95, 0.99, 1.0)
# replica id (the runtime's "<service>-<arm>/<index>@<node>") -> (error share, cumulative latency shares)
REPLICAS = {
    ("pay-good", "pay-good/0@n1"): (0.005, HEALTHY),
    ("pay-good", "pay-good-baseline/0@n1"): (0.005, HEALTHY),
    ("pay-good", "pay-good-canary/0@n1"): (0.005, HEALTHY),
    ("pay-bad", "pay-bad/0@n1"): (0.005, HEALTHY),
    ("pay-bad", "pay-bad-baseline/0@n1"): (0.005, HEALTHY),
    ("pay-bad", "pay-bad-canary/0@n1"): (0.08, SLOW),
}
WINDOW = 8.0

pytestmark = pytest.mark.slow  # a real Prometheus scrapes for several seconds first


class FakeRouter(Collector):
    """The router's per-replica metrics, growing in proportion to the time since it started."""

    def __init__(self) -> None:
        self.started = time.time()

    def collect(self) -> Iterator[Metric]:
        """Every replica's counters and histogram as of now."""
        n = PACE * (time.time() - self.started)
        requests = CounterMetricFamily("finpilot_router_requests", "Attempts", labels=["service", "backend"])
        errors = CounterMetricFamily("finpilot_router_errors", "Failed attempts", labels=["service", "backend"])
        latency = HistogramMetricFamily("finpilot_router_upstream_seconds", "Latency", labels=["service", "backend"])
        for (service, backend), (error_share, shares) in REPLICAS.items():
            requests.add_metric([service, backend], n)
            errors.add_metric([service, backend], error_share * n)
            buckets = [(b, s * n) for b, s in zip(BOUNDS, shares, strict=True)] + [("+Inf", n)]
            latency.add_metric([service, backend], buckets, sum_value=0.02 * n)
        yield from (requests, errors, latency)


@pytest.fixture(scope="module")
def router_prometheus(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PrometheusQuery]:
    """A real Prometheus scraping the fake router every second, once a whole window is scraped."""
    registry = CollectorRegistry()
    registry.register(FakeRouter())
    server, thread = start_http_server(0, addr="127.0.0.1", registry=registry)
    try:
        work = tmp_path_factory.mktemp("prom-judge")
        with (
            running_prometheus(work, scrape_config([f"127.0.0.1:{server.server_port}"])) as url,
            PrometheusQuery(url) as query,
        ):
            wait_for(
                lambda: query.range("finpilot_router_requests_total", time.time() - 60, time.time(), 1.0),
                lambda found: bool(found) and min(len(s.points) for s in found) >= WINDOW + 2,
                timeout=60,
                what="a whole window of router scrapes",
            )
            yield query
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def test_a_bad_canary_read_through_prometheus_fails_the_judge(router_prometheus: PrometheusQuery) -> None:
    found = MetricsSampleSource(router_prometheus).samples("pay-bad", window_s=WINDOW)
    # About 300/s over 8 s per arm; the stable replica is not counted in either arm.
    for arm in (found.baseline, found.canary):
        assert abs(len(arm) - PACE * WINDOW) < 0.1 * PACE * WINDOW
    assert abs(float(found.canary.error.mean()) - 0.08) < 0.01
    assert abs(float(found.baseline.error.mean()) - 0.005) < 0.003
    assert float(np.median(found.canary.latency_ms)) > 2 * float(np.median(found.baseline.latency_ms))
    assert found.description.startswith(f"metrics:prometheus:{router_prometheus.base_url}")
    verdict = judge(found.baseline, found.canary, JudgeConfig())
    assert verdict.verdict == "fail", verdict.reason
    failed = {m.name for m in verdict.metrics if m.outcome == "fail"}
    assert {"error_rate", "latency_p99"} <= failed


def test_a_good_canary_read_through_prometheus_passes(router_prometheus: PrometheusQuery) -> None:
    found = MetricsSampleSource(router_prometheus).samples("ns/pay-good", window_s=WINDOW)
    verdict = judge(found.baseline, found.canary, JudgeConfig())
    assert verdict.verdict == "pass", verdict.reason
    assert verdict.enough_data


def test_a_rollout_without_metrics_is_not_found(router_prometheus: PrometheusQuery) -> None:
    with pytest.raises(NotFoundError, match="no requests"):
        MetricsSampleSource(router_prometheus).samples("pay-none", window_s=WINDOW)
    with pytest.raises(InputError):
        MetricsSampleSource(router_prometheus).samples("../etc")
    with pytest.raises(InputError, match="window_s"):
        MetricsSampleSource(router_prometheus, window_s=0)


def test_ranks_read_from_buckets_as_histogram_quantile_reads_them() -> None:
    bounds = np.array([0.1, 0.5, 1.0])
    counts = np.array([4.0, 4.0, 9.0])  # (0.1, 0.5] is empty
    ranks = np.array([2.0, 4.0, 6.5, 9.0, 9.5])
    # Rank 6.5 is half-way through (0.5, 1.0]; rank 9.5 lies in +Inf: the highest finite bound.
    assert read_ranks(bounds, counts, ranks).tolist() == pytest.approx([0.05, 0.1, 0.75, 1.0, 1.0])


def test_the_consoles_argo_metric_judges_through_prometheus_when_its_url_is_set(
    router_prometheus: PrometheusQuery, tmp_path: Path
) -> None:
    settings = Settings(data_dir=tmp_path / "data", watch=WatchSettings(prometheus_url=router_prometheus.base_url))
    with open_ledger(settings) as ledger, open_token_store(settings, clock=FakeClock()) as tokens:
        _info, token = tokens.create("argo", "viewer")
        headers = {"Authorization": f"Bearer {token}"}
        with TestClient(create_app(settings, ledger, tokens), base_url="http://testserver") as client:
            verdicts = {
                rollout: client.get(
                    "/api/v1/analysis/argo", params={"rollout": rollout, "window_s": WINDOW}, headers=headers
                )
                for rollout in ("pay-bad", "pay-good")
            }
        assert {r: v.json()["verdict"] for r, v in verdicts.items()} == {"pay-bad": "fail", "pay-good": "pass"}
        entries = [e.fields for e in ledger.tail(ledger.size) if e.fields["kind"] == "deliver.analysis"]
        assert len(entries) == 2
        assert all(str(e["evidence"]["samples"]).startswith("metrics:prometheus:") for e in entries), entries
