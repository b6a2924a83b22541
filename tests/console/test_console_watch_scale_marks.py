"""The Metrics page marks the autoscaler's actions and draws its forecast, from a real ledger."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from console_helpers import MakeToken, TestClient
from fastapi import FastAPI

from finpilot.audit import Ledger
from finpilot.audit.kinds import WATCH_SCALE
from finpilot.console import TokenStore, create_app
from finpilot.core import FakeClock, Settings
from finpilot.watch import EmbeddedQuery, MetricsStore

ORIGIN = {"Origin": "http://testserver"}
NOW = 1_700_000_000.0
EXAMPLES = Path(__file__).parents[1] / "audit" / "kind_examples.json"


@pytest.fixture
def store(tmp_path: Path) -> Iterator[MetricsStore]:
    """Ten minutes of the router's request counter at 15 s."""
    opened = MetricsStore(tmp_path / "metrics.db", clock=lambda: NOW)
    labels = (("service", "payments"),)
    rows = [
        ("finpilot_router_requests_total", labels, 4.0 * 15 * i, int((NOW - 600 + 15 * i) * 1000)) for i in range(41)
    ]
    opened.write(rows, scrape_time=NOW)
    yield opened
    opened.close()


def _scale(ledger: Ledger, at: float, from_n: int, to_n: int, reason: str) -> None:
    evidence = json.loads(EXAMPLES.read_text())["watch.scale"][0]["evidence"]
    evidence.update(from_replicas=from_n, to_replicas=to_n, reason=reason)
    evidence["forecast"]["points"] = [
        {"t": at + 15 * h, "mean": 10.0 + h, "lower": 8.0 + h, "upper": 13.0 + h} for h in range(1, 5)
    ]
    ledger.append(
        WATCH_SCALE.entry(
            actor="finpilot:autoscaler",
            action="scale",
            subject="service:payments",
            outcome="ok",
            evidence=evidence,
            time=datetime.fromtimestamp(at, tz=UTC),
        )
    )


@pytest.fixture
def scaled_client(settings: Settings, ledger: Ledger, tokens: TokenStore, store: MetricsStore) -> Iterator[TestClient]:
    _scale(ledger, NOW - 3000, 1, 2, "predictive")  # outside the page's window
    _scale(ledger, NOW - 240, 2, 4, "predictive")
    _scale(ledger, NOW - 60, 4, 3, "hold")
    clock = FakeClock(datetime.fromtimestamp(NOW, tz=UTC))
    app: FastAPI = create_app(settings, ledger, tokens, clock=clock, metrics_query=EmbeddedQuery(store))
    with TestClient(app, base_url="http://testserver") as client:
        yield client


def test_scaling_actions_are_marked_and_the_newest_forecast_is_drawn(
    scaled_client: TestClient, make_token: MakeToken
) -> None:
    scaled_client.post("/login", data={"token": make_token("viewer"), "next": "/watch/metrics"}, headers=ORIGIN)
    page = scaled_client.get("/watch/metrics", params={"start": NOW - 600, "end": NOW}).text
    assert "<title>payments 2→4 (predictive)</title>" in page
    assert "<title>payments 4→3 (hold)</title>" in page
    assert "payments 1→2" not in page  # before the window
    # The forecast: a band and a mean line, on the request-rate panel only.
    assert page.count('class="band"') == 1
    assert page.count("payments forecast 95% interval") == 1
    assert "payments forecast (mean)" in page


def test_without_scaling_actions_there_is_no_forecast(
    settings: Settings, ledger: Ledger, tokens: TokenStore, store: MetricsStore, make_token: MakeToken
) -> None:
    clock = FakeClock(datetime.fromtimestamp(NOW, tz=UTC))
    app = create_app(settings, ledger, tokens, clock=clock, metrics_query=EmbeddedQuery(store))
    with TestClient(app, base_url="http://testserver") as client:
        client.post("/login", data={"token": make_token("viewer"), "next": "/watch/metrics"}, headers=ORIGIN)
        page = client.get("/watch/metrics").text
    assert 'class="band"' not in page
    assert 'class="mark"' not in page
