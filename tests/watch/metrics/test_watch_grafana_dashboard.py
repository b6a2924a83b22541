"""The demo stack's Grafana dashboard: valid structure, and every metric its queries name is really exposed.

The metric names are taken from the real exporters (payments, the router, the console), each
instantiated here and its exposition parsed with our own parser, so a renamed metric breaks this
test rather than a panel in the demo.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from finpilot_payments._metrics import PaymentsMetrics

from finpilot.console._metrics import ConsoleMetrics
from finpilot.core import utc_now
from finpilot.heal._router._stats import BackendStats, RouterMetrics
from finpilot.watch import parse_exposition, parse_selector

DASHBOARD = Path(__file__).resolve().parents[3] / "examples" / "grafana" / "finpilot-demo.json"
SYNTHETIC = {"up", "scrape_duration_seconds", "scrape_samples_scraped"}
"""Series the scraper writes per target (Prometheus does the same), not any exporter's."""
PROMQL_WORDS = {"by", "without", "on", "ignoring", "group_left", "group_right", "bool", "and", "or", "unless", "offset"}


class _Ledger:
    """What the console's ledger collector reads: a size and the latest signed checkpoint."""

    size = 3

    def latest_checkpoint(self) -> SimpleNamespace:
        return SimpleNamespace(size=3, created_at="2026-01-01T00:00:00+00:00")


def _exposed_names() -> set[str]:
    payments = PaymentsMetrics()
    payments.requests.labels("POST", "/payments", "200").inc()
    payments.latency.labels("POST", "/payments").observe(0.01)
    payments.errors.labels("/payments", "declined").inc()
    payments.decisions.labels("approve").inc()
    router = RouterMetrics("payments")
    router.latency.labels("payments", "r1").observe(0.01)
    router.rejected.labels("payments", "503").inc()
    router_text = router.export({"r1": BackendStats()}, {"r1": True})
    console = ConsoleMetrics(_Ledger(), utc_now)  # type: ignore[arg-type]
    console.requests.labels("GET", "/", "200").inc()
    console.latency.labels("GET", "/").observe(0.01)
    console.refusals.labels("401").inc()
    names: set[str] = set()
    for text in (payments.exposition(), router_text, console.exposition()):
        names |= parse_exposition(text.decode()).names()
    return names


@pytest.fixture(scope="module")
def dashboard() -> dict[str, Any]:
    return json.loads(DASHBOARD.read_text())


def _panels(dashboard: dict[str, Any]) -> list[dict[str, Any]]:
    found = []
    for panel in dashboard["panels"]:
        found.append(panel)
        found.extend(panel.get("panels", []))
    return found


def _exprs(dashboard: dict[str, Any]) -> list[str]:
    return [t["expr"] for p in _panels(dashboard) for t in p.get("targets", [])]


def _metric_selectors(expr: str) -> list[str]:
    """The instant-vector selectors in a PromQL expression: ``name`` or ``name{...}``."""
    text = re.sub(r"\[[^\]]*\]", "", expr)  # range windows
    text = re.sub(r"\b(by|without|on|ignoring)\s*\([^)]*\)", "", text)  # grouping labels
    found = []
    for match in re.finditer(r"([a-zA-Z_:][a-zA-Z0-9_:]*)\s*(\{[^}]*\})?", text):
        name, rest = match.group(1), text[match.end() :].lstrip()
        if rest.startswith("(") or name in PROMQL_WORDS:
            continue  # a function or aggregation, or a keyword
        found.append(name + (match.group(2) or ""))
    return found


def test_structure(dashboard: dict[str, Any]) -> None:
    assert isinstance(dashboard["schemaVersion"], int)
    assert dashboard["schemaVersion"] >= 36
    assert dashboard["uid"]
    assert dashboard["title"]
    panels = _panels(dashboard)
    ids = [p["id"] for p in panels]
    assert len(ids) == len(set(ids)), "panel ids must be unique"
    variables = {v["name"]: v for v in dashboard["templating"]["list"]}
    assert variables["datasource"]["type"] == "datasource"
    assert variables["datasource"]["query"] == "prometheus"
    for panel in panels:
        grid = panel["gridPos"]
        assert set(grid) == {"h", "w", "x", "y"}
        assert grid["w"] > 0
        assert grid["h"] > 0
        assert grid["x"] >= 0
        assert grid["x"] + grid["w"] <= 24, panel["title"]
        if panel["type"] == "row":
            continue
        assert panel["title"]
        assert panel["datasource"]["uid"] == "${datasource}"
        assert panel["targets"], panel["title"]
        refs = [t["refId"] for t in panel["targets"]]
        assert len(refs) == len(set(refs))
        for target in panel["targets"]:
            assert target["datasource"]["uid"] == "${datasource}"


def test_panels_do_not_overlap(dashboard: dict[str, Any]) -> None:
    cells: dict[tuple[int, int], str] = {}
    for panel in _panels(dashboard):
        g = panel["gridPos"]
        for x in range(g["x"], g["x"] + g["w"]):
            for y in range(g["y"], g["y"] + g["h"]):
                assert (x, y) not in cells, f"{panel['title']} overlaps {cells[(x, y)]}"
                cells[(x, y)] = panel["title"]


def test_every_metric_in_every_query_is_exposed(dashboard: dict[str, Any]) -> None:
    exposed = _exposed_names() | SYNTHETIC
    seen = set()
    for expr in _exprs(dashboard):
        selectors = _metric_selectors(expr)
        assert selectors, f"no metric in {expr!r}"
        for selector in selectors:
            parsed = parse_selector(selector)  # our own selector parser reads every one
            assert parsed.name in exposed, f"{parsed.name} (in {expr!r}) is not exposed by any exporter"
            seen.add(parsed.name)
    # The panels the demo promises: payments traffic, errors, latency, fraud decisions, the router.
    for wanted in (
        "payments_requests_total",
        "payments_request_seconds_bucket",
        "payments_decisions_total",
        "finpilot_router_upstream_seconds_bucket",
        "finpilot_router_requests_total",
    ):
        assert wanted in seen


def test_the_name_check_catches_a_typo() -> None:
    exposed = _exposed_names()
    (selector,) = _metric_selectors('sum by (le) (rate(payments_request_secnds_bucket{route="/p"}[5m]))')
    assert parse_selector(selector).name not in exposed
