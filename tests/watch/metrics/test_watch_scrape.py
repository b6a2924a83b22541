"""The scraper against real HTTP exposition servers (prometheus_client's WSGI app), one target down."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, make_server

import pytest
from prometheus_client import CollectorRegistry, Counter, Histogram, make_wsgi_app

from finpilot.watch import EmbeddedQuery, MetricsStore, Scraper, ScrapeTarget, ScrapeTargetError

WsgiApp = Callable[..., Any]


class _Quiet(WSGIRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def serve() -> Iterator[Callable[[WsgiApp], str]]:
    servers = []

    def start(app: WsgiApp) -> str:
        server = make_server("127.0.0.1", 0, app, handler_class=_Quiet)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_port}/metrics"

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def text_app(body: str, status: str = "200 OK") -> WsgiApp:
    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        start_response(status, [("Content-Type", "text/plain; version=0.0.4")])
        return [body.encode()]

    return app


def closed_port_url() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/metrics"


@pytest.fixture
def registry() -> CollectorRegistry:
    registry = CollectorRegistry()
    requests = Counter("demo_requests", "Requests.", ["route"], registry=registry)
    requests.labels("/pay").inc(7)
    latency = Histogram("demo_seconds", "Latency.", buckets=(0.1, 1.0), registry=registry)
    latency.observe(0.05)
    return registry


def test_scrape_real_targets_with_one_down(
    tmp_path: Path, serve: Callable[[WsgiApp], str], registry: CollectorRegistry
) -> None:
    store = MetricsStore(tmp_path / "metrics.db")
    good = ScrapeTarget(serve(make_wsgi_app(registry)), job="demo")
    down = ScrapeTarget(closed_port_url(), job="demo")
    broken = ScrapeTarget(serve(text_app("ok 1\nbad{ 2\n")), job="demo")
    erroring = ScrapeTarget(serve(text_app("oops", "500 Internal Server Error")), job="demo")
    scraper = Scraper(store, [good, down, broken, erroring], timeout_s=2)
    try:
        reports = {r.target.key: r for r in scraper.scrape_once()}
    finally:
        scraper.stop()
    assert reports[good.key].up
    assert reports[good.key].error is None
    assert reports[good.key].samples > 5
    assert not reports[down.key].up
    assert "unreachable" in (reports[down.key].error or "")
    assert not reports[broken.key].up
    assert "line 2" in (reports[broken.key].error or "")
    assert "HTTP 500" in (reports[erroring.key].error or "")

    q = EmbeddedQuery(store)
    now = time.time()
    ups = {s.labels["instance"]: s.points[-1][1] for s in q.range('up{job="demo"}', now - 60, now + 1, 1)}
    assert ups == {good.instance: 1.0, down.instance: 0.0, broken.instance: 0.0, erroring.instance: 0.0}
    (requests,) = q.range('demo_requests_total{route="/pay"}', now - 60, now + 1, 1)
    assert requests.points[-1][1] == 7.0
    assert requests.labels == {"route": "/pay", "job": "demo", "instance": good.instance}
    # Nothing of the malformed scrape was stored, only its synthetic series.
    assert q.range('ok{job="demo"}', now - 60, now + 1, 1) == []
    health = {h.target: h for h in store.health()}
    assert health[good.key].up
    assert health[good.key].last_success is not None
    assert not health[down.key].up
    assert health[down.key].last_success is None
    assert health[down.key].last_error
    (duration,) = q.range(f'scrape_duration_seconds{{instance="{good.instance}"}}', now - 60, now + 1, 1)
    assert 0 < duration.points[-1][1] < 2
    (count,) = q.range(f'scrape_samples_scraped{{instance="{good.instance}"}}', now - 60, now + 1, 1)
    assert count.points[-1][1] == reports[good.key].samples


def test_a_target_whose_clock_runs_ahead_is_counted(tmp_path: Path, serve: Callable[[WsgiApp], str]) -> None:
    store = MetricsStore(tmp_path / "metrics.db", skew_tolerance_s=60)
    ahead_ms = int((time.time() + 3600) * 1000)
    target = ScrapeTarget(serve(text_app(f"x 1 {ahead_ms}\ny 2\n")), job="skewed")
    scraper = Scraper(store, [target], timeout_s=2)
    try:
        (report,) = scraper.scrape_once()
    finally:
        scraper.stop()
    assert report.up
    assert report.write is not None
    assert report.write.rejected == {"future": 1}
    assert store.rejections() == {target.key: {"future": 1}}


def test_target_source_and_exported_labels(tmp_path: Path, serve: Callable[[WsgiApp], str]) -> None:
    store = MetricsStore(tmp_path / "metrics.db")
    url = serve(text_app('x{job="inner",instance="i"} 1\n'))
    calls = 0

    def source() -> list[ScrapeTarget]:
        nonlocal calls
        calls += 1
        if calls == 2:
            raise RuntimeError("runtime not ready")
        return [ScrapeTarget(url, job="replica", labels={"service": "payments"})]

    scraper = Scraper(store, [], source=source, interval_s=0.05, timeout_s=2)
    try:
        rounds = scraper.run_for(0.12)
    finally:
        scraper.stop()
    assert len(rounds) >= 2
    assert [len(r) for r in rounds[:2]] == [1, 0]  # the failing source costs one round, no crash
    now = time.time()
    (x,) = EmbeddedQuery(store).range("x", now - 60, now + 1, 1)
    assert x.labels == {
        "exported_job": "inner",
        "exported_instance": "i",
        "job": "replica",
        "instance": ScrapeTarget(url).instance,
        "service": "payments",
    }


def test_background_thread_scrapes_until_stopped(
    tmp_path: Path, serve: Callable[[WsgiApp], str], registry: CollectorRegistry
) -> None:
    store = MetricsStore(tmp_path / "metrics.db")
    scraper = Scraper(store, [ScrapeTarget(serve(make_wsgi_app(registry)))], interval_s=0.05, timeout_s=2)
    scraper.start()
    deadline = time.monotonic() + 5
    while store.counts()["samples"] < 3 * 20 and time.monotonic() < deadline:
        time.sleep(0.05)
    scraper.stop()
    (h,) = store.health()
    assert h.up
    assert store.counts()["samples"] >= 60


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"url": "ftp://x/metrics"}, "target"),
        ({"url": "not a url"}, "target"),
        ({"url": "http://x/metrics", "job": ""}, "job"),
        ({"url": "http://x/metrics", "labels": {"__x": "1"}}, "labels"),
        ({"url": "http://x/metrics", "labels": {"bad-name": "1"}}, "labels"),
    ],
)
def test_bad_targets_are_refused(kwargs: dict[str, Any], field: str) -> None:
    with pytest.raises(ScrapeTargetError) as caught:
        ScrapeTarget(**kwargs)
    assert caught.value.field == field


def test_instance_defaults_to_host_and_port() -> None:
    assert ScrapeTarget("http://h:8001/metrics").instance == "h:8001"
    assert ScrapeTarget("https://h/metrics").instance == "h:443"
    assert ScrapeTarget("http://h/m", job="j").key == "j/h:80"


def test_a_slow_target_times_out_without_holding_up_the_others(
    tmp_path: Path, serve: Callable[[WsgiApp], str], registry: CollectorRegistry
) -> None:
    def slow(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        time.sleep(2)
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"late 1\n"]

    store = MetricsStore(tmp_path / "metrics.db")
    fast = ScrapeTarget(serve(make_wsgi_app(registry)), job="fast")
    stuck = ScrapeTarget(serve(slow), job="slow")
    scraper = Scraper(store, [stuck, fast], timeout_s=0.5)
    began = time.monotonic()
    try:
        reports = {r.target.key: r for r in scraper.scrape_once()}
    finally:
        elapsed = time.monotonic() - began
        scraper.stop()
    assert elapsed < 1.8  # the round ends with the timeout, not with the slow answer
    assert reports[fast.key].up
    assert not reports[stuck.key].up
    assert "did not answer within 0.5 s" in (reports[stuck.key].error or "")


def test_a_target_trickling_bytes_is_cut_at_the_timeout(tmp_path: Path, serve: Callable[[WsgiApp], str]) -> None:
    def trickle(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterator[bytes]:
        start_response("200 OK", [("Content-Type", "text/plain")])
        for i in range(40):
            time.sleep(0.05)  # each read is quick; the whole answer is not
            yield f"m{i} 1\n".encode()

    store = MetricsStore(tmp_path / "metrics.db")
    target = ScrapeTarget(serve(trickle), job="trickle")
    scraper = Scraper(store, [target], timeout_s=0.5)
    try:
        (report,) = scraper.scrape_once()
    finally:
        scraper.stop()
    assert not report.up
    assert "did not answer within 0.5 s" in (report.error or "")
    assert store.counts()["series"] == 3  # only the synthetic series: nothing of the partial answer
