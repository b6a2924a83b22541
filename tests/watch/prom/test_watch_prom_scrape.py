"""PrometheusQuery against a real Prometheus scraping (every second) an exposition server the test controls.

The counter and the histogram grow in proportion to the time since the server started, so their
rates are known exactly whenever Prometheus happens to scrape: 10/s and 30/s for the counter's two
arms, and a histogram whose buckets keep fixed shares (hence a known quantile).
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterator

import pytest
from prometheus_client import CollectorRegistry, Gauge, start_http_server
from prometheus_client.core import CounterMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector
from watch_prom_helpers import running_prometheus, scrape_config, wait_for

from finpilot.core import WatchSettings
from finpilot.watch import (
    MetricsUnavailableError,
    PrometheusQuery,
    QueryError,
    WatchInputError,
    prometheus_query_from_settings,
)

PACE = {"a": 10.0, "b": 30.0}
# Cumulative share of observations at or under each bound: the median lies in (0.1, 0.5], p99 in (1, 2.5].
SHARES = (("0.1", 0.4), ("0.5", 0.9), ("1.0", 0.95), ("2.5", 1.0), ("+Inf", 1.0))

pytestmark = pytest.mark.slow  # a real Prometheus scrapes for several seconds first


class Paced(Collector):
    """A counter and a histogram that grow at a fixed pace from the moment the server started."""

    def __init__(self) -> None:
        self.started = time.time()

    def collect(self) -> Iterator[Metric]:
        """The values as of now."""
        elapsed = time.time() - self.started
        counter = CounterMetricFamily("test_jobs", "Jobs done", labels=["arm"])
        for arm, pace in PACE.items():
            counter.add_metric([arm], pace * elapsed)
        yield counter
        count = 100.0 * elapsed
        buckets = [(le, share * count) for le, share in SHARES]
        yield HistogramMetricFamily("test_wait_seconds", "Wait", buckets=buckets, sum_value=0.3 * count)


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PrometheusQuery]:
    """A real Prometheus scraping the paced exposition server every second, once it holds a few scrapes."""
    registry = CollectorRegistry()
    registry.register(Paced())
    depth = Gauge("test_depth", "Queue depth", ["zone", "node"], registry=registry)
    for (zone, node), value in {("z1", "n1"): 3, ("z1", "n2"): 4, ("z2", "n3"): 10}.items():
        depth.labels(zone, node).set(value)
    server, thread = start_http_server(0, addr="127.0.0.1", registry=registry)
    target = f"127.0.0.1:{server.server_port}"
    try:
        work = tmp_path_factory.mktemp("prom-live")
        with running_prometheus(work, scrape_config([target])) as url, PrometheusQuery(url) as query:
            # Six scrapes, so a 4 s rate window is fully covered.
            wait_for(
                lambda: query.range("test_jobs_total", time.time() - 30, time.time(), 1.0),
                lambda found: len(found) == 2 and all(len(s.points) >= 6 for s in found),
                what="six scrapes of test_jobs_total",
            )
            yield query
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def test_rate_of_a_counter_growing_at_a_known_pace(live: PrometheusQuery) -> None:
    now = time.time()
    found = live.rate("test_jobs_total", now - 2, now, 1.0, 4.0)
    assert {s.labels["arm"] for s in found} == {"a", "b"}
    for series in found:
        assert series.name == "test_jobs_total"
        assert series.points
        for _, value in series.points:
            # Scrape timing jitter (ms against a 4 s window) is the only error.
            assert math.isclose(value, PACE[series.labels["arm"]], rel_tol=0.05)


def test_sum_by_label_of_gauges_and_of_rates(live: PrometheusQuery) -> None:
    now = time.time()
    by_zone = live.aggregate("sum", "test_depth", now - 2, now, 1.0, by=("zone",))
    assert {s.labels["zone"]: s.points[-1][1] for s in by_zone} == {"z1": 7.0, "z2": 10.0}
    total = live.aggregate("sum", "test_jobs_total", now, now, 1.0, rate_window=4.0)
    assert len(total) == 1
    assert math.isclose(total[0].points[0][1], 40.0, rel_tol=0.05)
    assert live.aggregate("count", "test_depth", now, now, 1.0)[0].points[0][1] == 3.0


def test_histogram_quantile_of_known_shares(live: PrometheusQuery) -> None:
    now = time.time()
    # Ranks: the median is (0.5 - 0.4) / (0.9 - 0.4) of the way through (0.1, 0.5]; p99 is 0.8 of (1, 2.5].
    for q, expected in ((0.5, 0.18), (0.99, 2.2), (0.2, 0.05)):
        found = live.histogram_quantile(q, "test_wait_seconds_bucket", now - 2, now, 1.0, 4.0)
        assert len(found) == 1
        for _, value in found[0].points:
            # The buckets are in fixed proportion at every scrape, so only float rounding remains.
            assert math.isclose(value, expected, rel_tol=1e-6), (q, value)


def test_series_lists_what_prometheus_scraped(live: PrometheusQuery) -> None:
    now = time.time()
    found = live.series('test_depth{zone="z1"}', now - 60, now)
    assert sorted(s.labels["node"] for s in found) == ["n1", "n2"]
    assert all(s.labels["job"] == "test" for s in found)
    assert live.describe() == f"prometheus:{live.base_url}"


def test_a_query_prometheus_rejects_is_a_query_error_with_its_message(live: PrometheusQuery) -> None:
    # The selector parses (Python's re takes a look-ahead), but Prometheus (RE2) cannot compile it.
    with pytest.raises(QueryError, match=r"rejected the query.*pars") as caught:
        live.range('test_depth{zone=~"(?=a)a"}', time.time() - 10, time.time(), 1.0)
    assert live.base_url in caught.value.message


def test_a_prometheus_that_is_down_is_unavailable_naming_the_url() -> None:
    from watch_prom_helpers import free_port

    url = f"http://127.0.0.1:{free_port()}"
    with PrometheusQuery(url, timeout=2) as query, pytest.raises(MetricsUnavailableError) as caught:
        query.range("up", 0, 60, 15)
    assert url in caught.value.message
    assert caught.value.fix
    assert "watch.prometheus_url" in caught.value.fix


def test_a_url_that_is_not_prometheus_is_unavailable_not_a_crash() -> None:
    # A real HTTP server that is not Prometheus: an exposition endpoint answers every path with text.
    server, thread = start_http_server(0, addr="127.0.0.1", registry=CollectorRegistry())
    try:
        url = f"http://127.0.0.1:{server.server_port}"
        with PrometheusQuery(url) as query, pytest.raises(MetricsUnavailableError, match="not a Prometheus"):
            query.series("up", 0, 60)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def test_settings_choose_prometheus_only_when_a_url_is_set() -> None:
    assert prometheus_query_from_settings(WatchSettings()) is None
    query = prometheus_query_from_settings(WatchSettings(prometheus_url="http://127.0.0.1:9090/"))
    assert query is not None
    with query:
        assert query.describe() == "prometheus:http://127.0.0.1:9090"
    with pytest.raises(WatchInputError, match="not an http"):
        PrometheusQuery("ftp://example")


def test_no_httpx_error_escapes_a_timeout() -> None:
    import socket

    # A listener that accepts and never answers: the request times out.
    with socket.create_server(("127.0.0.1", 0)) as sock:
        url = f"http://127.0.0.1:{sock.getsockname()[1]}"
        with PrometheusQuery(url, timeout=0.5) as query, pytest.raises(MetricsUnavailableError, match="in time"):
            query.range("up", 0, 60, 15)
