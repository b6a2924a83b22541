"""Rule files: strict loading (file, line, field, fix) and what each kind of rule signals."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from alert_helpers import MemoryMetrics, RecordingSink, make_manager

from finpilot.core import FakeClock
from finpilot.watch import (
    AlertConfigError,
    Anomaly,
    AnomalyRule,
    Forecast,
    MetricRule,
    ProactiveRule,
    Series,
    load_rules,
    parse_rules,
)

LATENCY_RULES = """
rules:
  - alert: PaymentsLatencyHigh
    query:
      selector: 'latency_seconds{service="payments"}'
      aggregate: max
      by: [service, replica]
    op: ">"
    threshold: 0.5
    for: 2m
    labels: {severity: critical, team: payments}
    annotations:
      summary: "latency {value}s on {labels.replica} (limit {threshold}s)"
"""


def test_a_rule_file_loads_with_its_defaults() -> None:
    (rule,) = parse_rules(LATENCY_RULES, source="latency.yaml")
    assert isinstance(rule, MetricRule)
    assert rule.for_ == 120.0
    assert rule.labels["severity"] == "critical"
    (defaulted,) = parse_rules("rules:\n  - alert: X\n    query: {selector: up}\n    threshold: 1\n")
    assert isinstance(defaulted, MetricRule)
    assert defaulted.labels["severity"] == "warning"
    assert defaulted.op == ">"


@pytest.mark.parametrize(
    ("text", "field", "line"),
    [
        ("rules:\n  - alert: X\n    query: {selector: up}\n    threshold: 1\n    severty: x\n", "rules.0.severty", 5),
        ("rules:\n  - alert: X\n    query: {selector: up}\n    threshold: 1\n    for: soon\n", "rules.0.for", 5),
        (
            "rules:\n  - alert: X\n    query: {selector: up}\n    threshold: 1\n    labels: {severity: loud}\n",
            "rules.0.labels.severity",
            5,
        ),
        (
            "rules:\n  - alert: X\n    query: {selector: up}\n    threshold: 1\n    annotations: {summary: '{valu}'}\n",
            "rules.0.annotations.summary",
            5,
        ),
        (
            "rules:\n  - alert: X\n    query: {selector: up, function: rate}\n    threshold: 1\n",
            "rules.0.query.window",
            3,
        ),
        ("rules:\n  - alert: X\n    type: magic\n", "rules.0", 2),
    ],
)
def test_a_bad_rule_names_file_line_field_and_fix(text: str, field: str, line: int) -> None:
    with pytest.raises(AlertConfigError) as caught:
        parse_rules(text, source="bad.yaml")
    assert caught.value.field == field
    assert caught.value.message.startswith(f"bad.yaml:{line}:")
    assert caught.value.fix


def test_an_unknown_key_lists_the_keys_allowed_there() -> None:
    with pytest.raises(AlertConfigError) as caught:
        parse_rules("rules:\n  - alert: X\n    query: {selector: up, windw: 5m}\n    threshold: 1\n")
    assert caught.value.fix == "allowed keys here: aggregate, by, function, quantile, selector, window"


def test_the_example_rule_file_loads() -> None:
    examples = Path(__file__).resolve().parents[3] / "examples" / "watch" / "alerts"
    rules = load_rules(examples)
    assert [(r.rule_id, r.type) for r in rules] == [
        ("PaymentsLatencyHigh", "metric"),
        ("PaymentsErrorsHigh", "metric"),
        ("PaymentsLatencyAnomaly", "anomaly"),
        ("PaymentsCapacitySoon", "proactive"),
    ]


def test_two_rules_with_one_id_are_refused(tmp_path: Path) -> None:
    rule = "  - alert: X\n    query: {selector: up}\n    threshold: 1\n"
    (tmp_path / "a.yaml").write_text("rules:\n" + rule)
    (tmp_path / "b.yaml").write_text("rules:\n" + rule)
    with pytest.raises(AlertConfigError, match="two rules are called 'X'"):
        load_rules(tmp_path)
    with pytest.raises(AlertConfigError, match="does not exist"):
        load_rules(tmp_path / "missing")


def test_a_metric_rule_fires_only_after_for_and_resolves(tmp_path: Path, clock: FakeClock, entries: list[Any]) -> None:
    rules = parse_rules(LATENCY_RULES)
    metrics = MemoryMetrics()
    sink = RecordingSink()
    manager = make_manager(tmp_path, clock, sink, entries)
    labels = {"service": "payments", "replica": "payments/1"}

    def step(value: float) -> str | None:
        metrics.add("latency_seconds", labels, clock().timestamp(), value)
        assert manager.evaluate(rules, metrics) == {}
        views = manager.active_alerts()
        return views[0].alert.state if views else None

    assert step(0.2) is None
    clock.advance(60)
    assert step(0.9) == "pending"
    clock.advance(60)
    assert step(0.9) == "pending"  # held 60 s of the 120 s 'for'
    clock.advance(60)
    assert step(0.9) == "firing"
    (view,) = manager.active_alerts()
    assert view.alert.labels == {
        "service": "payments",
        "replica": "payments/1",
        "severity": "critical",
        "team": "payments",
        "alertname": "PaymentsLatencyHigh",
    }
    assert view.alert.annotations["summary"] == "latency 0.9s on payments/1 (limit 0.5s)"
    assert view.alert.series == 'latency_seconds{replica="payments/1",service="payments"}'
    assert view.alert.link.startswith("http://127.0.0.1:8080/watch/metrics?series=latency_seconds")
    clock.advance(60)
    assert step(0.1) == "resolved"
    assert [(e.action, e.outcome, e.subject) for e in entries] == [
        ("fire", "firing", "replica:payments/1"),
        ("resolve", "resolved", "replica:payments/1"),
    ]
    assert entries[0].evidence["replica"] == "payments/1"
    assert entries[0].evidence["threshold"] == 0.5


def test_a_pending_alert_that_clears_is_dropped_unannounced(
    tmp_path: Path, clock: FakeClock, entries: list[Any]
) -> None:
    rules = parse_rules(LATENCY_RULES)
    metrics = MemoryMetrics()
    manager = make_manager(tmp_path, clock, RecordingSink(), entries)
    labels = {"service": "payments", "replica": "payments/2"}
    metrics.add("latency_seconds", labels, clock().timestamp(), 0.9)
    manager.evaluate(rules, metrics)
    clock.advance(30)
    metrics.add("latency_seconds", labels, clock().timestamp(), 0.1)
    manager.evaluate(rules, metrics)
    assert manager.active_alerts() == []
    assert entries == []


def test_an_anomaly_becomes_an_alert_with_series_window_and_score(
    tmp_path: Path, clock: FakeClock, entries: list[Any]
) -> None:
    (rule,) = parse_rules(
        "rules:\n  - alert: LatencyAnomaly\n    type: anomaly\n    series: latency.*\n    min_score: 0.8\n"
        "    matchers: ['service=payments']\n    resolve_after: 5m\n"
        "    annotations: {summary: 'score {score} at {series}'}\n"
    )
    assert isinstance(rule, AnomalyRule)
    manager = make_manager(tmp_path, clock, RecordingSink(), entries)
    t = clock().timestamp()
    labels = {"service": "payments", "replica": "payments/1"}
    weak = Anomaly("latency_seconds", labels, t, 0.7, 0.6, "hst", 0.5)
    assert manager.on_anomaly(weak, [rule], record=True) == []
    (noted,) = entries
    assert (noted.kind, noted.action, noted.subject) == ("watch.anomaly", "detect", "replica:payments/1")
    assert noted.evidence["score"] == 0.6
    other = Anomaly("latency_seconds", {"service": "ledger"}, t, 0.7, 0.95, "hst", 0.5)
    assert manager.on_anomaly(other, [rule]) == []
    (alert,) = manager.on_anomaly(Anomaly("latency_seconds", labels, t, 0.9, 0.95, "hst", 0.5), [rule])
    assert alert.state == "firing"
    assert alert.score == 0.95
    assert (alert.window_start, alert.window_end) == (t - 900, t)
    assert alert.annotations["summary"] == 'score 0.95 at latency_seconds{replica="payments/1",service="payments"}'
    clock.advance(299)
    manager.tick()
    assert manager.active_alerts()[0].alert.state == "firing"
    clock.advance(1)
    assert manager.tick().resolved == 1


def test_a_proactive_alert_fires_before_the_breach_and_says_when(
    tmp_path: Path, clock: FakeClock, entries: list[Any]
) -> None:
    (rule,) = parse_rules(
        "rules:\n  - alert: DiskFullSoon\n    type: proactive\n    series: disk_used_bytes\n    threshold: 100\n"
        "    within: 1h\n    labels: {severity: critical}\n"
        "    annotations: {summary: 'full at {breach_expected_at}'}\n"
    )
    assert isinstance(rule, ProactiveRule)
    manager = make_manager(tmp_path, clock, RecordingSink(), entries)
    now = clock().timestamp()
    steps = [now + 600 * (i + 1) for i in range(6)]  # ten-minute steps, one hour ahead
    mean = [60.0, 70.0, 80.0, 90.0, 95.0, 99.0]
    upper = [70.0, 85.0, 101.0, 110.0, 120.0, 130.0]
    rising = Forecast(steps, mean, [m - 10 for m in mean], upper, 0.9, "test")
    (alert,) = manager.on_forecast("disk_used_bytes", {"node": "n1"}, rising, [rule])
    assert alert.state == "firing"
    assert alert.breach_expected_at == steps[2]
    assert alert.breach_expected_at > now  # fires before the breach
    assert alert.annotations["summary"] == "full at 2026-01-01T00:30:00.000000Z"
    assert entries[-1].evidence["breach_expected_at"] == "2026-01-01T00:30:00.000000Z"
    # The mean never crosses: a rule on the mean stays quiet; a later, calmer forecast resolves.
    calm = Forecast(steps, mean, mean, mean, 0.9, "test")
    assert manager.on_forecast("disk_used_bytes", {"node": "n1"}, calm, [rule]) == []
    assert manager.active_alerts()[0].alert.state == "resolved"
    # A breach beyond 'within' is not yet an alert.
    late = Forecast([now + 7200], [200.0], [150.0], [250.0], 0.9, "test")
    assert rule.signal("disk_used_bytes", {"node": "n1"}, late, now) is None


class CallsQuery(MemoryMetrics):
    """Our MetricsQuery fake that records how a rule reads, and answers one breaching series."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[tuple[Any, ...]] = []

    def _answer(self, *call: Any) -> list[Series]:
        self.calls.append(call)
        return [Series("latency", {"replica": "payments/1"}, ((1.0, 2.0),))]

    def rate(self, selector: str, start: float, end: float, step: float, window: float) -> list[Series]:
        return self._answer("rate", selector, start, end, step, window)

    def aggregate(
        self, op: str, selector: str, start: float, end: float, step: float, by: Any = (), rate_window: Any = None
    ) -> list[Series]:
        return self._answer("aggregate", op, selector, start, end, tuple(by), rate_window)

    def histogram_quantile(
        self, q: float, selector: str, start: float, end: float, step: float, window: float, by: Any = ()
    ) -> list[Series]:
        return self._answer("quantile", q, selector, start, end, window, tuple(by))


@pytest.mark.parametrize(
    ("query", "call"),
    [
        ("{selector: req_total, function: rate, window: 5m}", ("rate", "req_total", 100.0, 100.0, 1.0, 300.0)),
        (
            "{selector: req_total, function: rate, window: 1m, aggregate: sum, by: [replica]}",
            ("aggregate", "sum", "req_total", 100.0, 100.0, ("replica",), 60.0),
        ),
        (
            "{selector: lat_bucket, function: quantile, quantile: 0.99, window: 5m, by: [replica]}",
            ("quantile", 0.99, "lat_bucket", 100.0, 100.0, 300.0, ("replica",)),
        ),
    ],
)
def test_a_metric_rule_reads_rate_aggregate_and_quantile_as_promql_would(query: str, call: tuple[Any, ...]) -> None:
    (rule,) = parse_rules(f"rules:\n  - alert: X\n    query: {query}\n    threshold: 1\n")
    assert isinstance(rule, MetricRule)
    metrics = CallsQuery()
    (signal,) = rule.evaluate(metrics, 100.0)
    assert metrics.calls == [call]
    assert signal.value == 2.0
    assert signal.window_end == 100.0
    assert signal.window_start == 100.0 - (rule.query.window or 0)


def test_a_quantile_alerts_link_charts_exactly_what_fired(tmp_path: Path) -> None:
    # Real store: two replicas' latency histograms, one slow; a p99 rule by replica fires for it.
    from urllib.parse import parse_qs, urlsplit

    from finpilot.watch import EmbeddedQuery, MetricsStore

    store = MetricsStore(tmp_path / "m.db", clock=lambda: 1_000.0)
    rows = []
    for i in range(7):
        t = int((1_000 - 60 + 10 * i) * 1000)
        for replica, slow in (("r1", False), ("r2", True)):
            for le, fast_n, slow_n in (("0.1", 10, 0), ("1", 10, 0), ("+Inf", 10, 10)):
                n = (slow_n if slow else fast_n) * i
                rows.append(("lat_bucket", (("le", le), ("replica", replica), ("svc", "p")), float(n), t))
    store.write(rows, scrape_time=1_000.0)
    metrics = EmbeddedQuery(store)
    (rule,) = parse_rules(
        "rules:\n  - alert: Slow\n    query: {selector: 'lat_bucket{svc=\"p\"}', function: quantile, quantile: 0.99,"
        " window: 1m, by: [replica]}\n    threshold: 0.5\n"
    )
    assert isinstance(rule, MetricRule)
    (signal,) = rule.evaluate(metrics, 1_000.0)
    assert signal.labels["replica"] == "r2"
    assert signal.series == 'lat_bucket{svc="p",replica="r2"}'
    assert signal.view == {"kind": "quantile", "window": "60", "quantile": "0.99", "by": "replica"}
    # What the link asks the Metrics page for gives back the one series that fired, at its value.
    params = {k: v[0] for k, v in parse_qs(urlsplit(f"http://c/watch/metrics?{_link_query(signal)}").query).items()}
    (charted,) = metrics.histogram_quantile(
        float(params["quantile"]), params["series"], 1_000.0, 1_000.0, 1.0, float(params["window"]), (params["by"],)
    )
    assert charted.labels == {"replica": "r2"}
    assert charted.points[-1][1] == signal.value
    store.close()


def _link_query(signal: Any) -> str:
    from urllib.parse import urlencode

    return urlencode({"series": signal.series, **signal.view})
