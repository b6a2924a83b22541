"""``finpilot watch scrape|targets|query`` end to end, against a real exposition server."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, make_server

import pytest
from prometheus_client import CollectorRegistry, Counter, Histogram, make_wsgi_app
from typer.testing import CliRunner

from finpilot.cli import app


class _Quiet(WSGIRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def live_registry() -> Iterator[tuple[str, CollectorRegistry, Any]]:
    registry = CollectorRegistry()
    server = make_server("127.0.0.1", 0, make_wsgi_app(registry), handler_class=_Quiet)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}/metrics", registry, server
    server.shutdown()
    server.server_close()


def run(tmp_path: Path, *args: str) -> tuple[int, Any]:
    result = CliRunner().invoke(app, ["--data-dir", str(tmp_path / "data"), *args, "--json"])
    return result.exit_code, json.loads(result.stdout)


def test_scrape_then_query_rates_and_quantiles(
    tmp_path: Path, live_registry: tuple[str, CollectorRegistry, Any]
) -> None:
    url, registry, _ = live_registry
    requests = Counter("shop_requests", "Requests.", ["route"], registry=registry)
    latency = Histogram("shop_seconds", "Latency.", buckets=(0.1, 0.5, 1.0), registry=registry)
    stop = threading.Event()

    def traffic() -> None:
        while not stop.is_set():
            requests.labels("/buy").inc(10)
            for v in (0.05, 0.3, 0.3, 2.0):
                latency.observe(v)
            time.sleep(0.02)

    worker = threading.Thread(target=traffic)
    worker.start()
    try:
        code, scraped = run(
            tmp_path, "watch", "scrape", "--target", url, "--job", "shop", "--duration", "2.2s", "--interval", "0.5s"
        )
    finally:
        stop.set()
        worker.join()
    assert code == 0
    assert scraped["rounds"] >= 4
    (target,) = scraped["targets"]
    assert target["up"] is True
    assert target["error"] is None

    code, rates = run(
        tmp_path,
        "watch",
        "query",
        'shop_requests_total{route="/buy"}',
        "--since",
        "3s",
        "--step",
        "0.5s",
        "--rate",
        "1.5s",
    )
    assert code == 0
    (series,) = rates["series"]
    assert series["name"] == ""
    assert series["labels"]["job"] == "shop"
    assert all(v > 0 for _, v in series["points"])

    code, p75 = run(
        tmp_path,
        "watch",
        "query",
        "shop_seconds_bucket",
        "--since",
        "3s",
        "--step",
        "0.5s",
        "--rate",
        "1.5s",
        "--quantile",
        "0.5",
    )
    assert code == 0
    (q,) = p75["series"]
    # Half of the observations are 0.3: the median lies inside the (0.1, 0.5] bucket.
    assert all(0.1 < v <= 0.5 for _, v in q["points"])

    code, targets = run(tmp_path, "watch", "targets")
    assert code == 0
    (row,) = targets["targets"]
    assert row["up"] is True
    assert row["target"].startswith("shop/")


def test_down_target_exits_1_and_is_listed(tmp_path: Path) -> None:
    code, scraped = run(tmp_path, "watch", "scrape", "--target", "http://127.0.0.1:9/metrics", "--once")
    assert code == 1
    assert scraped["targets"][0]["up"] is False
    assert "unreachable" in scraped["targets"][0]["error"]
    code, up = run(tmp_path, "watch", "query", "up", "--since", "5m")
    assert code == 0
    assert up["series"][0]["points"][-1][1] == 0


@pytest.mark.parametrize(
    ("args", "field"),
    [
        (["watch", "query", "up{"], "selector"),
        (["watch", "query", "up", "--since", "soon"], "--since"),
        (["watch", "query", "up", "--step", "0"], "--step"),
        (["watch", "scrape", "--target", "ftp://x"], "target"),
        (["watch", "scrape"], "target"),
    ],
)
def test_bad_input_exits_2_naming_the_field(tmp_path: Path, args: list[str], field: str) -> None:
    code, error = run(tmp_path, *args)
    assert code == 2
    assert error["field"] == field
    assert error["fix"]


def test_non_finite_values_are_strings_in_json(tmp_path: Path) -> None:
    from finpilot.watch import MetricsStore

    store = MetricsStore(tmp_path / "data" / "metrics.db")
    now = time.time()
    store.write(
        [("odd", (("k", "nan"),), float("nan"), None), ("odd", (("k", "inf"),), float("inf"), None)], scrape_time=now
    )
    store.close()
    code, found = run(tmp_path, "watch", "query", "odd", "--since", "1m")
    assert code == 0
    values = {s["labels"]["k"]: s["points"][-1][1] for s in found["series"]}
    assert values == {"nan": "NaN", "inf": "+Inf"}
