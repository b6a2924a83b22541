"""The parts the detectors are built from: rest period, rolling z-score, record ratio."""

from __future__ import annotations

import statistics

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from finpilot.watch._detect._record import RecordRatio
from finpilot.watch._detect._refractory import Refractory
from finpilot.watch._detect._zscore import RollingZ


def test_a_firing_mutes_exactly_the_rest_period() -> None:
    rest = Refractory(level=0.5, rest=3)
    reported = []
    for score in [0.2, 0.9, 0.95, 0.99, 0.97, 0.96, 0.1]:
        out = rest.apply(score)
        reported.append(out)
        rest.update(out)
    assert reported == [0.2, 0.9, 0.0, 0.0, 0.0, 0.96, 0.0]


def test_scores_below_the_level_never_mute() -> None:
    rest = Refractory(level=0.5, rest=10)
    for score in [0.49] * 20:
        assert rest.apply(score) == score
        rest.update(score)


@pytest.mark.parametrize(("level", "rest"), [(0.0, 5), (1.5, 5), (0.5, -1)])
def test_refractory_refuses_bad_settings(level: float, rest: int) -> None:
    with pytest.raises(ValueError, match="level"):
        Refractory(level, rest)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.floats(-1e6, 1e6, allow_nan=False), min_size=12, max_size=80), st.integers(2, 30))
def test_rolling_z_matches_the_window_statistics(values: list[float], window: int) -> None:
    z = RollingZ(window=window, warmup=2)
    for x in values[:-1]:
        z.update(x)
    tail = values[:-1][-window:]
    mean = statistics.fmean(tail)
    std = statistics.pstdev(tail)
    probe = values[-1]
    if std > 1e-3 * (abs(mean) + 1.0):
        assert z.z(probe) == pytest.approx(abs(probe - mean) / std, rel=1e-6, abs=1e-6)
    else:
        assert z.z(probe) >= 0.0


def test_rolling_z_is_zero_until_warm() -> None:
    z = RollingZ(window=100, warmup=10)
    for x in range(9):
        z.update(float(x))
        assert z.z(1e9) == 0.0
    z.update(9.0)
    assert z.z(1e9) > 1e6


def test_record_ratio_is_relative_to_the_streams_own_extremes() -> None:
    quiet, noisy = RecordRatio(floor=0.5, warmup=10), RecordRatio(floor=0.5, warmup=10)
    for i in range(200):
        quiet.update(1.0)
        noisy.update(20.0 if i % 10 == 0 else 1.0)
    # The same raw score is a record on the quiet stream and routine on the noisy one.
    assert quiet.ratio(10.0) == pytest.approx(10.0)
    assert noisy.ratio(10.0) == pytest.approx(0.5, rel=0.01)


def test_record_ratio_forgets_an_old_extreme() -> None:
    rec = RecordRatio(half_life=100, floor=1.0, warmup=0)
    rec.update(1_000.0)
    assert rec.ratio(10.0) == pytest.approx(0.01)
    for _ in range(1_000):
        rec.update(2.0)
    assert rec.ratio(10.0) == pytest.approx(5.0)


def test_record_ratio_is_silent_while_warming_up_and_floored() -> None:
    rec = RecordRatio(floor=3.0, warmup=5)
    for _ in range(4):
        rec.update(0.1)
        assert rec.ratio(100.0) == 0.0
    rec.update(0.1)
    assert rec.ratio(1.5) == pytest.approx(0.5)  # the floor, not the tiny record, is the unit
