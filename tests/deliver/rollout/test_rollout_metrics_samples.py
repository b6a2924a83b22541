"""A rollout whose analysis reads both arms through a SampleSource (Prometheus, when watch.prometheus_url is set).

The fake platform's sample rings stay empty here: a verdict other than "not enough data" can only
come from the source. The source answers per window; the real one (MetricsSampleSource over
PrometheusQuery) is exercised against a real Prometheus in tests/watch/prom.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from rollout_helpers import AuditList, FakeClock, FakePlatform

from finpilot.core import NotFoundError
from finpilot.deliver import Samples, SampleSet
from finpilot.deliver._rollout import RolloutConfig, RolloutEngine, RolloutStore, Step, new_rollout

CONFIG = RolloutConfig(
    steps=[Step(weight=10, pause_s=20), Step(weight=50, pause_s=20)], analysis_interval_s=5, drain_s=1
)


class ArmSource:
    """Both arms at 20 requests a second over any window; the canary fails every ``error_every``-th."""

    def __init__(self, clock: FakeClock, error_every: int = 0, *, missing: bool = False) -> None:
        self.clock = clock
        self.error_every = error_every
        self.missing = missing
        self.asked: list[tuple[str, float | None]] = []

    def samples(self, rollout: str, *, window_s: float | None = None) -> SampleSet:
        """Rows evenly spread over the window that ends now."""
        self.asked.append((rollout, window_s))
        if self.missing:
            raise NotFoundError(f"no requests to either arm of {rollout}")
        window = window_s or 60.0
        n = int(20 * window)
        times = self.clock.now - window + (np.arange(n) + 0.5) * window / n
        canary_fails = [bool(self.error_every and i % self.error_every == 0) for i in range(n)]
        baseline = Samples.from_rows((t, 10.0, False) for t in times.tolist())
        canary = Samples.from_rows((t, 10.0, e) for t, e in zip(times.tolist(), canary_fails, strict=True))
        return SampleSet(baseline, canary, description=f"metrics:fake service={rollout} window={window:g}s")


def _engine(tmp: Path, source: ArmSource, clock: FakeClock) -> tuple[RolloutEngine, FakePlatform, AuditList]:
    platform, audit = FakePlatform(), AuditList()
    store = RolloutStore(tmp / "rollouts.db")
    record = new_rollout(
        platform, store, audit, service="payments", release="payments-2.0", env={"B": "2"}, config=CONFIG, clock=clock
    )
    return RolloutEngine(record, platform, store, audit, clock=clock, samples=source), platform, audit


def _advance(engine: RolloutEngine, clock: FakeClock, seconds: int) -> None:
    for _ in range(seconds):
        clock.now += 1
        engine.tick()


def test_a_failing_canary_read_through_the_source_is_rolled_back(tmp_path: Path) -> None:
    clock = FakeClock()
    source = ArmSource(clock, error_every=5)  # 20 % errors
    engine, platform, audit = _engine(tmp_path, source, clock)
    _advance(engine, clock, 15)
    assert engine.record.phase in ("rolling-back", "rolled-back")
    assert platform.rows == {}  # the router's rings were never the source
    analysis = [e for e in audit.entries if e.kind == "deliver.analysis"][-1]
    assert analysis.outcome == "fail"
    assert analysis.evidence["source"] == "rollout:metrics"
    assert str(analysis.evidence["samples"]).startswith("metrics:fake service=payments")
    # The window asked for is the time since the canary took traffic (capped by the lookback), at least 1 s.
    assert source.asked
    assert all(rollout == "payments" and window is not None and window >= 1.0 for rollout, window in source.asked)


def test_a_good_canary_read_through_the_source_advances(tmp_path: Path) -> None:
    clock = FakeClock()
    engine, _platform, audit = _engine(tmp_path, ArmSource(clock), clock)
    _advance(engine, clock, 25)
    assert engine.record.phase == "progressing"
    assert engine.record.step == 1
    assert [e.outcome for e in audit.entries if e.kind == "deliver.analysis"][-1] == "pass"


def test_no_requests_in_the_window_is_not_enough_data_and_pauses(tmp_path: Path) -> None:
    clock = FakeClock()
    engine, _platform, audit = _engine(tmp_path, ArmSource(clock, missing=True), clock)
    _advance(engine, clock, 25)
    assert engine.record.phase == "paused"
    last = [e for e in audit.entries if e.kind == "deliver.analysis"][-1]
    assert str(last.evidence["samples"]).startswith("no samples: no requests")
