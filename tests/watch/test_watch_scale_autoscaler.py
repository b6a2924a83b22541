"""The live predictive autoscaler with an in-memory metrics fake and a recording target."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from finpilot.audit import Entry
from finpilot.audit.kinds import WatchScaleEvidence
from finpilot.core import InputError
from finpilot.watch import CapacityModel, PredictiveAutoscaler, Series


class LoadSignal:
    """A MetricsQuery fake: ``sum(rate(sel[w]))`` is whatever load the test set for that time."""

    def __init__(self) -> None:
        self.load: dict[float, float] = {}
        self.asked: list[tuple[str, str, float | None]] = []

    def describe(self) -> str:
        return "memory:test"

    def series(self, selector: str, start: float, end: float) -> list[Series]:
        return []

    def range(self, selector: str, start: float, end: float, step: float) -> list[Series]:
        return []

    def rate(self, selector: str, start: float, end: float, step: float, window: float) -> list[Series]:
        return []

    def aggregate(
        self,
        op: str,
        selector: str,
        start: float,
        end: float,
        step: float,
        by: Sequence[str] = (),
        rate_window: float | None = None,
    ) -> list[Series]:
        self.asked.append((op, selector, rate_window))
        points = tuple((t, v) for t, v in sorted(self.load.items()) if start <= t <= end)
        return [Series("rate", {}, points)] if points else []

    def histogram_quantile(self, *args: object, **kwargs: object) -> list[Series]:
        return []


class Recorder:
    """A ScaleTarget that remembers every change (and can refuse)."""

    def __init__(self, replicas: int, refuse: bool = False) -> None:
        self.replicas = replicas
        self.changes: list[int] = []
        self.refuse = refuse

    def describe(self) -> str:
        return "runtime:test"

    def current(self, service: str) -> int:
        return self.replicas

    def set_replicas(self, service: str, replicas: int) -> None:
        if self.refuse:
            raise InputError("refused by the test", field="replicas")
        self.replicas = replicas
        self.changes.append(replicas)


def run(load: list[float], target: Recorder, entries: list[Entry]) -> tuple[LoadSignal, PredictiveAutoscaler]:
    metrics = LoadSignal()
    scaler = PredictiveAutoscaler(
        metrics, target, "payments", 'http_requests_total{service="payments"}', audit=entries.append
    )
    for i, value in enumerate(load):
        now = 1_000.0 + i * 15.0
        metrics.load[now] = value
        scaler.step(now)
    return metrics, scaler


def test_a_ramp_is_met_ahead_and_every_action_is_audited_with_its_forecast() -> None:
    entries: list[Entry] = []
    target = Recorder(2)
    ramp = [15.0] * 20 + [15.0 + 3.0 * i for i in range(40)]
    metrics, _ = run(ramp, target, entries)
    assert metrics.asked[0] == ("sum", 'http_requests_total{service="payments"}', 60.0)
    assert target.changes, "the ramp must be scaled for"
    # Ahead of the load: at the end the replicas asked for cover the load a start-up later.
    assert target.replicas * CapacityModel().per_replica >= ramp[-1] + 3.0 * 4
    assert len(entries) == len(target.changes)
    first = entries[0]
    assert first.kind == "watch.scale"
    assert first.actor == "finpilot:autoscaler"
    assert first.subject == "service:payments"
    evidence = WatchScaleEvidence.model_validate(first.evidence)
    assert evidence.to_replicas == target.changes[0]
    assert evidence.reason in {"predictive", "reactive", "idle", "bounds"}
    assert evidence.forecast.upper_max >= evidence.forecast.mean_max
    assert evidence.forecast.horizon_s >= 60.0
    assert "memory:test" in evidence.signal


def test_an_idle_service_goes_down_to_its_minimum() -> None:
    entries: list[Entry] = []
    target = Recorder(6)
    run([0.0] * 40, target, entries)
    assert target.replicas == CapacityModel().min_replicas
    assert WatchScaleEvidence.model_validate(entries[-1].evidence).reason == "idle"


def test_no_signal_means_no_action() -> None:
    target = Recorder(3)
    scaler = PredictiveAutoscaler(LoadSignal(), target, "payments", "x_total", audit=None)
    assert scaler.step(1_000.0) is None
    assert target.changes == []


def test_a_refused_action_is_audited_as_failed_and_raised() -> None:
    entries: list[Entry] = []
    target = Recorder(1, refuse=True)
    metrics = LoadSignal()
    scaler = PredictiveAutoscaler(metrics, target, "payments", "x_total", audit=entries.append)
    metrics.load[1_000.0] = 95.0
    with pytest.raises(InputError):
        scaler.step(1_000.0)
    assert [e.outcome for e in entries] == ["failed"]
