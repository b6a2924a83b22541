"""The watch service: anomalies become entries and alerts, errors are counted and never stop it."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from finpilot.audit import Entry
from finpilot.core import FakeClock, LiveSeriesSettings, Settings
from finpilot.watch import (
    AlertManager,
    AlertStore,
    EmbeddedQuery,
    LiveDetection,
    MetricsStore,
    QueryError,
    WatchService,
    parse_rules,
    watch_service_for,
)

RULES = parse_rules(
    "rules:\n  - alert: LatencyAnomaly\n    type: anomaly\n    series: latency_live\n"
    "    labels: {severity: warning}\n"
    "  - alert: LatencyHigh\n    query: {selector: latency_seconds, aggregate: max, by: [backend]}\n"
    "    threshold: 5\n    for: 0s\n"
)
READ = LiveSeriesSettings(
    name="latency_live",
    selector="latency_seconds",
    detector="windowed-gaussian",
    threshold=0.99,
    warmup_points=20,
    replica_label="backend",
)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def store(tmp_path: Path, clock: FakeClock) -> Iterator[MetricsStore]:
    opened = MetricsStore(tmp_path / "metrics.db", clock=lambda: clock().timestamp())
    yield opened
    opened.close()


@pytest.fixture
def manager(tmp_path: Path, clock: FakeClock) -> Iterator[tuple[AlertManager, list[Entry]]]:
    entries: list[Entry] = []
    found = AlertManager(AlertStore(tmp_path / "alerts.sqlite"), sinks={}, clock=clock, record=entries.append)
    yield found, entries
    found.close()


def _point(store: MetricsStore, clock: FakeClock, value: float) -> None:
    t = clock().timestamp()
    store.write([("latency_seconds", (("backend", "payments/0@n1"),), value, int(t * 1000))], scrape_time=t)


def test_an_anomaly_is_recorded_and_fires_its_alert(
    store: MetricsStore, clock: FakeClock, manager: tuple[AlertManager, list[Entry]]
) -> None:
    alerts, entries = manager
    service = WatchService(
        alerts,
        RULES,
        EmbeddedQuery(store),
        detection=LiveDetection([READ]),
        detect_interval_s=1,
        evaluation_interval_s=1,
    )
    for i in range(30):
        _point(store, clock, 0.05 + 0.001 * (i % 3))
        service.step()
        clock.advance(1)
    assert [e.kind for e in entries] == []
    _point(store, clock, 0.9)
    service.step()
    kinds = [(e.kind, e.action, e.subject) for e in entries]
    assert kinds == [
        ("watch.anomaly", "detect", "replica:payments/0@n1"),
        ("watch.alert", "fire", "replica:payments/0@n1"),
    ]
    (alert,) = [v.alert for v in alerts.active_alerts()]
    assert alert.name == "LatencyAnomaly"
    assert alert.labels["replica"] == "payments/0@n1"
    status = service.status()
    assert status["anomalies"] == 1
    assert status["series_tracked"] == 1
    assert status["last_errors"] == {}
    assert status["rounds"] == 31


def test_detection_waits_for_its_interval(
    store: MetricsStore, clock: FakeClock, manager: tuple[AlertManager, list[Entry]]
) -> None:
    alerts, _ = manager
    service = WatchService(alerts, RULES, EmbeddedQuery(store), detection=LiveDetection([READ]), detect_interval_s=5)
    for _ in range(10):
        _point(store, clock, 0.05)
        service.step()
        clock.advance(1)
    assert service.status()["detections"] == 2
    assert service.status()["rounds"] == 10


class _Broken(EmbeddedQuery):
    def range(self, *args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("a bug in a backend")

    def aggregate(self, *args: Any, **kwargs: Any) -> Any:
        raise QueryError("prometheus is down", field="watch.prometheus_url", fix="start it")


def test_errors_are_counted_kept_visible_and_the_thread_goes_on(
    store: MetricsStore, manager: tuple[AlertManager, list[Entry]]
) -> None:
    alerts, _ = manager
    service = WatchService(
        alerts, RULES, _Broken(store), detection=LiveDetection([READ]), detect_interval_s=0.01, tick_s=0.01
    )
    service.start()
    try:
        deadline = time.monotonic() + 10
        while service.status()["rounds"] < 5:
            assert time.monotonic() < deadline, service.status()
            time.sleep(0.01)
        assert service.running
    finally:
        service.stop()
    status = service.status()
    assert not status["running"]
    assert status["round_errors"] >= 1
    assert "a bug in a backend" in status["last_errors"]["round"]
    service.stop()  # idempotent


def test_the_metric_rule_failure_is_kept_by_rule(
    store: MetricsStore, clock: FakeClock, manager: tuple[AlertManager, list[Entry]]
) -> None:
    alerts, _ = manager
    service = WatchService(alerts, RULES, _Broken(store), detection=None)
    service.step()
    status = service.status()
    assert "prometheus is down" in status["last_errors"]["rules:LatencyHigh"]
    assert status["query_errors"] == 1


def test_the_service_from_settings_keeps_state_in_the_data_dir(tmp_path: Path, store: MetricsStore) -> None:
    settings = Settings.model_validate(
        {"data_dir": str(tmp_path / "state"), "watch": {"detect": {"interval_s": 2, "series": [READ.model_dump()]}}}
    )
    service = watch_service_for(settings, EmbeddedQuery(store), record=None, rules=RULES)
    try:
        assert service.detect_interval_s == 2
        assert service.detection is not None
        assert service.detection.reads == [READ]
        assert (tmp_path / "state" / "watch" / "alerts.sqlite").exists()
    finally:
        service.manager.close()
