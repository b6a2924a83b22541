"""The Metrics page and /api/v1/watch/query over the real embedded metrics store."""

from __future__ import annotations

import math
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from console_helpers import MakeToken, TestClient, bearer
from fastapi import FastAPI

from finpilot.audit import Ledger
from finpilot.console import TokenStore, create_app
from finpilot.core import FakeClock, Settings
from finpilot.watch import EmbeddedQuery, MetricsStore

ORIGIN = {"Origin": "http://testserver"}
NOW = 1_700_000_000.0


@pytest.fixture
def store(tmp_path: Path) -> Iterator[MetricsStore]:
    """An embedded store with a counter per replica, ten minutes at 15 s, and one NaN gauge sample."""
    opened = MetricsStore(tmp_path / "metrics.db", clock=lambda: NOW)
    rows = []
    for i in range(41):
        t = NOW - 600 + 15 * i
        for replica, per_s in (("r1", 2.0), ("r2", 5.0)):
            labels = (("backend", replica), ("service", "payments"))
            rows.append(("finpilot_router_requests_total", labels, per_s * 15 * i, int(t * 1000)))
    rows.append(("temperature", (("room", "<b>x</b>"),), math.nan, int((NOW - 30) * 1000)))
    rows.append(("temperature", (("room", "<b>x</b>"),), 21.5, int((NOW - 15) * 1000)))
    opened.write(rows, scrape_time=NOW)
    yield opened
    opened.close()


@pytest.fixture
def metrics_app(settings: Settings, ledger: Ledger, tokens: TokenStore, store: MetricsStore) -> FastAPI:
    """The console with the embedded store as its metrics backend, its clock at NOW."""
    clock = FakeClock(datetime.fromtimestamp(NOW, tz=UTC))
    return create_app(settings, ledger, tokens, clock=clock, metrics_query=EmbeddedQuery(store))


@pytest.fixture
def metrics_client(metrics_app: FastAPI) -> Iterator[TestClient]:
    """A client of that console."""
    with TestClient(metrics_app, base_url="http://testserver") as test_client:
        yield test_client


def test_the_query_api_answers_rates_summed_by_label_from_the_store(
    metrics_client: TestClient, make_token: MakeToken
) -> None:
    params = {
        "selector": "finpilot_router_requests_total",
        "kind": "rate",
        "op": "sum",
        "by": "service",
        "start": NOW - 300,
        "end": NOW - 60,
        "step": 60,
    }
    response = metrics_client.get("/api/v1/watch/query", params=params, headers=bearer(make_token("viewer")))
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["backend"].startswith("sqlite:")
    [series] = body["series"]
    assert series["labels"] == {"service": "payments"}
    assert [t for t, _ in series["points"]] == [NOW - 300 + 60 * k for k in range(5)]
    assert all(v == pytest.approx(7.0) for _, v in series["points"])


def test_non_finite_values_come_back_as_null(metrics_client: TestClient, make_token: MakeToken) -> None:
    params = {"selector": "temperature", "start": NOW - 30, "end": NOW - 15, "step": 15}
    body = metrics_client.get("/api/v1/watch/query", params=params, headers=bearer(make_token("viewer"))).json()
    assert body["series"][0]["points"] == [[NOW - 30, None], [NOW - 15, 21.5]]


def test_a_bad_selector_is_a_422_naming_the_field(metrics_client: TestClient, make_token: MakeToken) -> None:
    response = metrics_client.get(
        "/api/v1/watch/query", params={"selector": "up{job="}, headers=bearer(make_token("viewer"))
    )
    assert response.status_code == 422
    assert response.json()["field"] == "selector"


def test_too_many_steps_are_refused_naming_the_step(metrics_client: TestClient, make_token: MakeToken) -> None:
    params = {"selector": "up", "start": NOW - 86_400 * 7, "end": NOW, "step": 1}
    response = metrics_client.get("/api/v1/watch/query", params=params, headers=bearer(make_token("viewer")))
    assert response.status_code == 422
    assert response.json()["field"] == "step"


def test_the_query_api_needs_a_token(metrics_client: TestClient) -> None:
    assert metrics_client.get("/api/v1/watch/query", params={"selector": "up"}).status_code == 401


def test_without_a_backend_the_api_says_what_to_set(client: TestClient, make_token: MakeToken) -> None:
    response = client.get("/api/v1/watch/query", params={"selector": "up"}, headers=bearer(make_token("viewer")))
    assert response.status_code == 503
    assert "watch.prometheus_url" in response.json()["fix"]


def test_the_page_draws_the_demo_panels_and_escapes_labels(metrics_client: TestClient, make_token: MakeToken) -> None:
    metrics_client.post("/login", data={"token": make_token("viewer"), "next": "/watch/metrics"}, headers=ORIGIN)
    page = metrics_client.get("/watch/metrics").text
    assert "Requests per second, by service" in page
    assert page.count("<svg") >= 5
    assert 'href="/watch/metrics"' in page  # in the navigation
    one = metrics_client.get("/watch/metrics", params={"selector": "temperature", "start": NOW - 60}).text
    assert "<polyline" in one
    assert "<b>x</b>" not in one
    assert "&lt;b&gt;x&lt;/b&gt;" in one
