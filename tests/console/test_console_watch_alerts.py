"""The Alerts page and /api/v1/watch/alerts, /silences, /notifications over a real alert manager.

The manager is the real one, with its SQLite store in tmp_path, firing a real metric rule over a
real embedded ``MetricsStore`` read through ``EmbeddedQuery``, and delivering to a real webhook
receiver on localhost; its audit entries go to the console's real ledger.
"""

from __future__ import annotations

import html
import re
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from console_helpers import MakeToken, TestClient, bearer, console_entries
from fastapi import FastAPI
from hypothesis import given
from hypothesis import strategies as st
from markupsafe import escape

from finpilot.audit import Ledger
from finpilot.console import TokenStore, create_app
from finpilot.console._page_alerts import metrics_link
from finpilot.console._roles import ROLE_PERMISSIONS, Permission
from finpilot.core import FakeClock, Settings
from finpilot.watch import Alert, AlertManager, EmbeddedQuery, Forecast, MetricsStore, parse_rules

ORIGIN = {"Origin": "http://testserver"}
NOW = 1_700_000_000.0
HOSTILE = '<script>alert("x")</script>'

RULES = """
rules:
  - alert: QueueDeep
    query: {selector: 'queue_depth{service="payments"}'}
    op: ">"
    threshold: 10
    labels: {severity: critical}
    annotations: {summary: "queue at {value} on {labels.replica} (limit {threshold})"}
  - alert: QueueShallow
    query: {selector: 'queue_depth{service="payments"}'}
    op: ">"
    threshold: 1
    labels: {severity: warning}
  - alert: DiskFullSoon
    type: proactive
    series: disk_used_bytes
    op: ">"
    threshold: 100
    labels: {severity: info}
"""


class _Hook(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", "0")))
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def hook_url() -> Iterator[str]:
    """A real webhook receiver on localhost that takes every notification."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Hook)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/hook"
    server.shutdown()
    server.server_close()


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """A data dir of this test's own, one webhook sink, and no group wait (notify on the first tick)."""
    return Settings.model_validate(
        {
            "data_dir": str(tmp_path / "data"),
            "watch": {
                "alerts": {
                    "sinks": [{"name": "hook", "type": "webhook", "url": {"env": "HOOK_URL"}}],
                    "group_wait_s": 0,
                }
            },
        }
    )


@pytest.fixture
def metrics(tmp_path: Path) -> Iterator[MetricsStore]:
    """Ten minutes of queue depth for two payments replicas; one of them carries a hostile label value."""
    store = MetricsStore(tmp_path / "metrics.db", clock=lambda: NOW)
    rows = []
    for i in range(41):
        t = int((NOW - 600 + 15 * i) * 1000)
        rows.append(("queue_depth", (("replica", "payments/1"), ("service", "payments")), 40.0 + i, t))
        rows.append(("queue_depth", (("note", HOSTILE), ("replica", "payments/2"), ("service", "payments")), 5.0, t))
    store.write(rows, scrape_time=NOW)
    yield store
    store.close()


@pytest.fixture
def manager(settings: Settings, ledger: Ledger, metrics: MetricsStore, hook_url: str) -> Iterator[AlertManager]:
    """The real manager after one evaluation (three alerts fire), a forecast and one tick (delivered)."""
    clock = FakeClock(datetime.fromtimestamp(NOW, tz=UTC))
    opened = AlertManager.from_settings(
        settings, clock=clock, record=ledger.append, environ={"HOOK_URL": hook_url}, sleep=lambda _s: None
    )
    rules = parse_rules(RULES)
    assert opened.evaluate(rules, EmbeddedQuery(metrics)) == {}
    forecast = Forecast(
        timestamps=[NOW + 600, NOW + 1200], mean=[90.0, 120.0], lower=[80.0, 100.0], upper=[95.0, 130.0],
        level=0.9, model="test",
    )  # fmt: skip
    opened.on_forecast("disk_used_bytes", {"instance": "n1"}, forecast, rules)
    report = opened.tick()
    assert report.delivered >= 1
    assert report.failed == 0
    yield opened
    opened.close()


@pytest.fixture
def alerts_client(
    settings: Settings, ledger: Ledger, tokens: TokenStore, metrics: MetricsStore, manager: AlertManager
) -> Iterator[TestClient]:
    """A console with the manager and the metrics store, its clock at NOW."""
    clock = FakeClock(datetime.fromtimestamp(NOW, tz=UTC))
    app: FastAPI = create_app(
        settings, ledger, tokens, clock=clock, metrics_query=EmbeddedQuery(metrics), alerts=manager
    )
    with TestClient(app, base_url="http://testserver") as client:
        yield client


def _alerts(client: TestClient, headers: dict[str, str]) -> list[dict[str, Any]]:
    response = client.get("/api/v1/watch/alerts", headers=headers)
    assert response.status_code == 200, response.text
    found: list[dict[str, Any]] = response.json()["alerts"]
    return found


def test_viewers_read_alerts_with_state_severity_series_window_and_values(
    alerts_client: TestClient, make_token: MakeToken
) -> None:
    found = _alerts(alerts_client, bearer(make_token("viewer")))
    by_name = {(a["labels"]["alertname"], a["labels"].get("replica")): a for a in found}
    deep = by_name[("QueueDeep", "payments/1")]
    assert deep["state"] == "firing"
    assert deep["severity"] == "critical"
    assert deep["series"] == 'queue_depth{replica="payments/1",service="payments"}'
    assert deep["value"] == pytest.approx(80.0)
    assert deep["threshold"] == 10
    assert deep["annotations"]["summary"] == "queue at 80 on payments/1 (limit 10)"
    assert deep["silenced_by"] == []
    assert deep["inhibited"] is False
    assert deep["breach_expected_at"] is None
    assert ("QueueDeep", "payments/2") not in by_name  # 5 is under 10
    assert by_name[("QueueShallow", "payments/2")]["labels"]["note"] == HOSTILE
    disk = next(a for a in found if a["kind"] == "proactive")
    assert disk["breach_expected_at"] == NOW + 1200  # the first step whose upper bound crosses 100
    assert disk["window"] == {"start": NOW, "end": NOW + 1200}


def test_viewers_read_recent_deliveries_with_their_outcome(alerts_client: TestClient, make_token: MakeToken) -> None:
    viewer = bearer(make_token("viewer"))
    body = alerts_client.get("/api/v1/watch/notifications", params={"limit": 50}, headers=viewer).json()
    assert body["notifications"], "the tick delivered to the webhook"
    assert {n["sink"] for n in body["notifications"]} == {"hook"}
    assert {n["outcome"] for n in body["notifications"]} == {"delivered"}
    carried = {fp for n in body["notifications"] for fp in n["fingerprints"]}
    assert carried == {a["fingerprint"] for a in _alerts(alerts_client, viewer)}
    one = alerts_client.get("/api/v1/watch/notifications", params={"limit": 1}, headers=viewer).json()
    assert len(one["notifications"]) == 1
    assert alerts_client.get("/api/v1/watch/notifications", params={"limit": 0}, headers=viewer).status_code == 422


def test_reading_needs_a_token(alerts_client: TestClient) -> None:
    for path in ("/api/v1/watch/alerts", "/api/v1/watch/silences", "/api/v1/watch/notifications"):
        assert alerts_client.get(path).status_code == 401


def test_a_viewer_cannot_silence_and_nothing_is_set(
    alerts_client: TestClient, make_token: MakeToken, ledger: Ledger
) -> None:
    viewer = bearer(make_token("viewer"))
    body = {"matchers": ["service=payments"], "duration_s": 3600, "comment": "deploying"}
    assert alerts_client.post("/api/v1/watch/silences", json=body, headers=viewer).status_code == 403
    assert alerts_client.get("/api/v1/watch/silences", headers=viewer).json() == {"silences": []}
    assert not [e for e in console_entries(ledger, "watch.alert") if e["action"] == "silence"]


def test_an_operator_silences_the_alert_is_muted_and_both_are_audited(
    alerts_client: TestClient, make_token: MakeToken, ledger: Ledger
) -> None:
    operator = bearer(make_token("operator", "olga"))
    body = {"matchers": ["alertname=QueueDeep", "replica=~payments/.*"], "duration_s": 7200, "comment": "draining"}
    answer = alerts_client.post("/api/v1/watch/silences", json=body, headers=operator)
    assert answer.status_code == 201, answer.text
    silence = answer.json()["silence"]
    assert silence["created_by"] == "token:olga"
    assert silence["state"] == "active"
    assert silence["ends_at"] == NOW + 7200
    muted = {a["labels"]["alertname"]: a["silenced_by"] for a in _alerts(alerts_client, operator)}
    assert muted["QueueDeep"] == [silence["id"]]
    assert muted["QueueShallow"] == []

    [entry] = [e for e in console_entries(ledger, "watch.alert") if e["action"] == "silence"]
    assert entry["actor"] == "token:olga"
    assert entry["subject"] == f"silence:{silence['id']}"
    assert entry["evidence"]["silence"]["matchers"] == ["alertname=QueueDeep", "replica=~payments/.*"]
    assert entry["evidence"]["silence"]["comment"] == "draining"
    requests = [e for e in console_entries(ledger) if e["action"] == "POST /api/v1/watch/silences"]
    assert [(e["actor"], e["outcome"]) for e in requests] == [("token:olga", "201")]

    expired = alerts_client.post(f"/api/v1/watch/silences/{silence['id']}/expire", json={}, headers=operator)
    assert expired.status_code == 200, expired.text
    assert expired.json()["silence"]["state"] == "expired"
    assert [e["actor"] for e in console_entries(ledger, "watch.alert") if e["action"] == "expire"] == ["token:olga"]
    expire_path = "POST /api/v1/watch/silences/{silence_id}/expire"
    assert [e["actor"] for e in console_entries(ledger) if e["action"] == expire_path] == ["token:olga"]
    assert all(a["silenced_by"] == [] for a in _alerts(alerts_client, operator))
    listed = alerts_client.get("/api/v1/watch/silences", headers=operator).json()["silences"]
    assert [(s["id"], s["state"]) for s in listed] == [(silence["id"], "expired")]


def test_a_viewer_cannot_expire_and_an_unknown_silence_is_404(alerts_client: TestClient, make_token: MakeToken) -> None:
    operator = bearer(make_token("operator"))
    body = {"matchers": ["service=payments"], "duration_s": 60, "comment": "x"}
    silence_id = alerts_client.post("/api/v1/watch/silences", json=body, headers=operator).json()["silence"]["id"]
    viewer = bearer(make_token("viewer"))
    assert alerts_client.post(f"/api/v1/watch/silences/{silence_id}/expire", json={}, headers=viewer).status_code == 403
    missing = alerts_client.post("/api/v1/watch/silences/0123abcd/expire", json={}, headers=operator)
    assert missing.status_code == 404
    assert missing.json()["field"] == "id"


@pytest.mark.parametrize(
    ("body", "field", "fix"),
    [
        ({"matchers": ["service=payments", "no operator"], "duration_s": 60}, "matchers.1", "name=value"),
        ({"matchers": ["service=~(unclosed"], "duration_s": 60}, "matchers.0", "pattern"),
        ({"matchers": ["service=payments"]}, "duration_s", "duration_s"),
        ({"matchers": ["service=payments"], "duration_s": 60, "ends_at": NOW + 60}, "duration_s", "duration_s"),
        ({"matchers": ["service=payments"], "ends_at": NOW - 1}, "ends_at", "after"),
        ({"matchers": [], "duration_s": 60}, "matchers", None),
        ({"matchers": ["a=b"], "ends_at": 1e300}, "ends_at", None),
        ({"matchers": ["a=b"], "duration_s": 60, "comment": "card 4111 1111 1111 1111"}, None, "card number"),
        ({"matchers": ["a=b"], "duration_s": 60, "colour": "red"}, "colour", None),
    ],
)
def test_a_bad_silence_is_a_422_naming_the_field_and_the_fix(
    alerts_client: TestClient,
    make_token: MakeToken,
    ledger: Ledger,
    body: dict[str, Any],
    field: str | None,
    fix: str | None,
) -> None:
    operator = bearer(make_token("operator"))
    answer = alerts_client.post("/api/v1/watch/silences", json={"comment": "why", **body}, headers=operator)
    assert answer.status_code == 422, answer.text
    if field is not None:
        assert answer.json()["field"] == field
    if fix is not None:
        assert fix in answer.json()["message"] + answer.json()["fix"]
    # Nothing was set, and nothing was audited but the refused request itself.
    assert alerts_client.get("/api/v1/watch/silences", headers=operator).json() == {"silences": []}
    assert not [e for e in console_entries(ledger, "watch.alert") if e["action"] == "silence"]


def test_the_page_groups_by_severity_escapes_labels_and_draws_a_timeline(
    alerts_client: TestClient, make_token: MakeToken
) -> None:
    alerts_client.post("/login", data={"token": make_token("viewer"), "next": "/watch/alerts"}, headers=ORIGIN)
    page = alerts_client.get("/watch/alerts").text
    assert 'href="/watch/alerts"' in page  # in the navigation
    order = [page.index(f'id="severity-{s}"') for s in ("critical", "warning", "info")]
    assert order == sorted(order)
    assert "QueueDeep" in page
    assert "DiskFullSoon" in page
    assert HOSTILE not in page
    assert f"note={escape(HOSTILE)}" in page
    assert re.search(r'<div id="timeline"><svg[^>]*>.*<polyline', page, re.S)
    assert "QueueDeep fired" in page  # the timeline marks when each fired
    assert 'id="no-notifications"' not in page


def test_the_alert_link_opens_the_metrics_page_on_that_series(alerts_client: TestClient, make_token: MakeToken) -> None:
    viewer = make_token("viewer")
    deep = next(a for a in _alerts(alerts_client, bearer(viewer)) if a["labels"]["alertname"] == "QueueDeep")
    alerts_client.post("/login", data={"token": viewer, "next": "/watch/alerts"}, headers=ORIGIN)
    page = alerts_client.get("/watch/alerts").text
    row = page[page.index(f'id="alert-{deep["fingerprint"]}"') :]
    href = html.unescape(re.search(r'class="series-link" href="([^"]+)"', row).group(1))  # type: ignore[union-attr]
    # The page's link and the link the notifications carry ask for the same series and window.
    link = urlsplit(deep["link"])
    assert (urlsplit(href).path, parse_qs(urlsplit(href).query)) == (link.path, parse_qs(link.query))
    assert parse_qs(link.query)["series"] == [deep["series"]]

    chart = alerts_client.get(href).text
    assert 'id="alert-window"' in chart
    assert f"<h2>{escape(deep['series'])}</h2>" in chart  # the series is the chart's title
    assert "<polyline" in chart  # ten minutes of history before the one-instant window
    assert "alert window start" in chart
    assert "payments/2" not in chart  # only that series, not its neighbour


def test_without_an_alert_manager_the_api_is_503_and_the_page_says_how(
    client: TestClient, make_token: MakeToken
) -> None:
    token = make_token("viewer")
    viewer = bearer(token)
    for path in ("/api/v1/watch/alerts", "/api/v1/watch/silences", "/api/v1/watch/notifications"):
        answer = client.get(path, headers=viewer)
        assert answer.status_code == 503
        assert "finpilot up" in answer.json()["fix"]
    body = {"matchers": ["a=b"], "duration_s": 60, "comment": "x"}
    assert client.post("/api/v1/watch/silences", json=body, headers=bearer(make_token("operator"))).status_code == 503
    client.post("/login", data={"token": token, "next": "/watch/alerts"}, headers=ORIGIN)
    page = client.get("/watch/alerts").text
    assert 'id="no-alerts"' in page
    assert "finpilot up" in page


def test_the_page_sends_a_stranger_to_login(alerts_client: TestClient) -> None:
    answer = alerts_client.get("/watch/alerts", follow_redirects=False)
    assert answer.status_code == 303
    assert answer.headers["location"].startswith("/login")


@given(st.text(st.characters(blacklist_categories=("Cs",)), max_size=60), st.floats(0, 2e9), st.floats(0, 2e9))
def test_an_alert_link_carries_any_series_exactly(series: str, start: float, end: float) -> None:
    alert = Alert(
        fingerprint="0" * 16, rule="r", kind="metric", labels={}, annotations={}, state="firing", series=series,
        window_start=start, window_end=end, active_since=0.0, last_seen=0.0,
    )  # fmt: skip
    link = urlsplit(metrics_link(alert))
    query = parse_qs(link.query, keep_blank_values=True)
    assert link.path == "/watch/metrics"
    assert query["series"] == [series]
    assert float(query["start"][0]) == round(start)
    assert float(query["end"][0]) == round(end)


def test_only_operators_and_admins_may_silence() -> None:
    holders = {role for role, granted in ROLE_PERMISSIONS.items() if Permission.SILENCE in granted}
    assert holders == {"operator", "admin"}
