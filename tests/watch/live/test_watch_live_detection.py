"""Live detection over the real embedded store: one detector per series, warm-up, floor, the cap, failures."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from finpilot.core import ConfigError, LiveSeriesSettings, WatchDetectSettings, parse_settings
from finpilot.watch import EmbeddedQuery, LiveDetection, MetricsStore, QueryError, UnknownDetectorError

T0 = 1_800_000_000.0


@pytest.fixture
def store(tmp_path: Path) -> Iterator[MetricsStore]:
    opened = MetricsStore(tmp_path / "metrics.db", clock=lambda: T0 + 10_000)
    yield opened
    opened.close()


def _read(**overrides: Any) -> LiveSeriesSettings:
    base: dict[str, Any] = {
        "name": "latency_live",
        "selector": "latency_seconds",
        "detector": "windowed-gaussian",
        "threshold": 0.99,
        "warmup_points": 20,
        "replica_label": "backend",
        "labels": {"service": "payments"},
    }
    base.update(overrides)
    return LiveSeriesSettings.model_validate(base)


def _write(store: MetricsStore, t: float, values: dict[str, float]) -> None:
    store.write([("latency_seconds", (("backend", b),), v, int(t * 1000)) for b, v in values.items()], scrape_time=t)


def _normal(i: int) -> float:
    return 0.05 + 0.002 * (i % 5)


def test_a_jump_on_one_replica_is_one_anomaly_naming_it(store: MetricsStore) -> None:
    detection = LiveDetection([_read()])
    query = EmbeddedQuery(store)
    for i in range(40):
        t = T0 + i
        _write(store, t, {"payments/0@n1": _normal(i), "payments/1@n2": _normal(i + 2)})
        assert detection.step(query, t).anomalies == ()
    t = T0 + 40
    _write(store, t, {"payments/0@n1": 0.9, "payments/1@n2": _normal(3)})
    found = detection.step(query, t)
    (anomaly,) = found.anomalies
    assert anomaly.series == "latency_live"
    assert anomaly.labels == {"backend": "payments/0@n1", "replica": "payments/0@n1", "service": "payments"}
    assert anomaly.value == pytest.approx(0.9)
    assert anomaly.score >= 0.99
    assert anomaly.detector == "windowed-gaussian"
    assert anomaly.timestamp == t
    assert found.scored == 2
    assert detection.tracked == 2


def test_nothing_is_raised_during_warm_up_or_under_the_floor(store: MetricsStore) -> None:
    query = EmbeddedQuery(store)
    warm = LiveDetection([_read(warmup_points=50)])
    floored = LiveDetection([_read(name="floored", floor=1.0)])
    for i in range(41):
        t = T0 + i
        _write(store, t, {"payments/0@n1": 0.9 if i == 40 else _normal(i)})
        assert warm.step(query, t).anomalies == ()
        assert floored.step(query, t).anomalies == ()


def test_the_same_instant_is_not_learned_twice(store: MetricsStore) -> None:
    detection = LiveDetection([_read()])
    query = EmbeddedQuery(store)
    _write(store, T0, {"a": 0.1})
    assert detection.step(query, T0).scored == 1
    assert detection.step(query, T0).scored == 0


def test_a_failing_read_is_reported_and_the_others_still_run(store: MetricsStore) -> None:
    class Failing(EmbeddedQuery):
        def histogram_quantile(self, *args: Any, **kwargs: Any) -> Any:
            raise QueryError("backend down", field="selector", fix="retry")

    detection = LiveDetection([_read(), _read(name="broken", kind="quantile", selector="x_bucket", by=["le"])])
    _write(store, T0, {"a": 0.1})
    found = detection.step(Failing(store), T0)
    assert found.scored == 1
    assert list(found.failures) == ["broken"]
    assert "backend down" in found.failures["broken"]


def test_an_unknown_detector_is_refused_at_once() -> None:
    with pytest.raises(UnknownDetectorError, match="no detector named 'nope'"):
        LiveDetection([_read(detector="nope")])


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(series=st.integers(min_value=1, max_value=12), cap=st.integers(min_value=1, max_value=8))
def test_the_series_cap_bounds_the_detectors(store: MetricsStore, series: int, cap: int) -> None:
    detection = LiveDetection([_read(selector=f'latency_seconds{{run="{series}-{cap}"}}')], max_series=cap)
    query = EmbeddedQuery(store)
    for i in range(3):
        t = T0 + 100 * series + i
        store.write(
            [
                ("latency_seconds", (("backend", f"b{j}"), ("run", f"{series}-{cap}")), 0.1, int(t * 1000))
                for j in range(series)
            ],
            scrape_time=t,
        )
        detection.step(query, t)
        assert detection.tracked == min(series, cap)
    assert detection.untracked == 3 * max(0, series - cap)


def test_settings_refuse_by_without_an_aggregate_and_duplicate_names() -> None:
    with pytest.raises(ConfigError, match="by needs an aggregate") as caught:
        parse_settings("watch:\n  detect:\n    series:\n      - {name: x, selector: y, by: [a]}\n")
    assert caught.value.field == "watch.detect.series.0.aggregate"
    with pytest.raises(ConfigError, match="two live reads are called 'x'") as caught:
        parse_settings(
            "watch:\n  detect:\n    series:\n      - {name: x, selector: y}\n      - {name: x, selector: z}\n"
        )
    assert caught.value.field == "watch.detect.series.1.name"
    assert WatchDetectSettings().series == []
