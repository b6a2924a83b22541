"""The default detector: contextual novelty and long-window deviation with a rest period."""

from __future__ import annotations

import math
import random

import pytest

from finpilot.watch import EnsembleDetector
from finpilot.watch._detect._registry import DEFAULT_DETECTOR, make_detector


def _noisy_sine(n: int, seed: int = 2) -> list[float]:
    rng = random.Random(seed)
    return [10.0 + 3.0 * math.sin(i / 20.0) + rng.gauss(0.0, 0.3) for i in range(n)]


def _run(det: EnsembleDetector, values: list[float], start: int = 0) -> list[float]:
    scores = []
    for i, x in enumerate(values, start):
        scores.append(det.score_one(float(i), x))
        det.learn_one(float(i), x)
    return scores


def test_it_is_the_registered_default() -> None:
    assert EnsembleDetector.name == DEFAULT_DETECTOR
    assert isinstance(make_detector(DEFAULT_DETECTOR), EnsembleDetector)


def test_a_spike_outranks_every_normal_point_after_warm_up() -> None:
    det = EnsembleDetector()
    normal = _run(det, _noisy_sine(3_000))
    spike = det.score_one(3_000.0, 40.0)
    assert spike > 0.8
    assert spike > max(normal[500:]) + 0.2


def test_one_episode_fires_once_then_rests() -> None:
    det = EnsembleDetector(rest=50)
    _run(det, _noisy_sine(3_000))
    episode = _run(det, [40.0] * 30 + _noisy_sine(100, seed=9), start=3_000)
    assert episode[0] > 0.8
    assert episode[1:50] == [0.0] * 49


def test_a_level_shift_is_detected_then_accepted() -> None:
    rng = random.Random(4)
    det = EnsembleDetector(window=1_000)
    _run(det, [5.0 + rng.gauss(0.0, 0.2) for _ in range(3_000)])
    after = _run(det, [9.0 + rng.gauss(0.0, 0.2) for _ in range(3_000)], start=3_000)
    assert after[0] > 0.8
    assert max(after[-1_000:]) < 0.5


def test_bad_hyper_parameters_are_refused() -> None:
    with pytest.raises(ValueError, match="z_full"):
        EnsembleDetector(z_full=0.0)
    with pytest.raises(ValueError, match="rest"):
        EnsembleDetector(rest=-1)


def test_a_familiar_value_at_the_wrong_time_of_day_is_caught() -> None:
    rng = random.Random(8)
    det = EnsembleDetector()
    step, t0 = 300.0, 1_700_000_000.0
    n = 10 * 288
    for i in range(n):
        t = t0 + i * step
        x = 100.0 + 50.0 * math.sin(2 * math.pi * (t % 86_400) / 86_400) + rng.gauss(0.0, 2.0)
        det.learn_one(t, x)
    t = t0 + n * step
    peak_t = t + (86_400 / 4 - t % 86_400) % 86_400
    trough_t = peak_t + 43_200
    # 150 is the daily top: routine at noon of the sine, unheard of at its trough.
    assert det.score_one(trough_t, 150.0) > 0.8
    # At its own time it stays under the threshold NAB's standard profile picks (0.55); it is not 0,
    # because the jump from the current level to the top is itself a new sequence.
    assert det.score_one(peak_t, 150.0) < 0.55
