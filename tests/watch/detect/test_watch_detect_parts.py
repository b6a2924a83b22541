"""The parts the detectors are built from: rest period, rolling z-score, anomaly likelihood."""

from __future__ import annotations

import random
import statistics

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from finpilot.watch._detect._likelihood import AnomalyLikelihood
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


def test_likelihood_is_high_only_for_a_surprising_raw_score() -> None:
    rng = random.Random(11)
    lik = AnomalyLikelihood(window=500, short=1, warmup=100)
    for _ in range(1_000):
        lik.update(0.2 + rng.gauss(0.0, 0.05))
    assert lik.score(0.2) == 0.0
    assert lik.score(0.25) < 0.2
    assert lik.score(0.9) > 0.5
    assert lik.score(0.9) <= 1.0


def test_likelihood_is_silent_while_warming_up() -> None:
    lik = AnomalyLikelihood(window=500, warmup=100)
    for _ in range(99):
        lik.update(0.1)
    assert lik.score(1.0) == 0.0
