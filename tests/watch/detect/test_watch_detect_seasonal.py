"""The seasonal baseline: a value is judged against the same phase of earlier days."""

from __future__ import annotations

import math
import random
import tracemalloc

from finpilot.watch import SeasonalDetector

STEP_S = 300
T0 = 1_700_000_000.0  # a day boundary is not needed: phases come from the timestamps


def _daily(t: float) -> float:
    return 100.0 + 50.0 * math.sin(2 * math.pi * (t % 86_400) / 86_400)


def _trained(days: int = 10, seed: int = 1) -> tuple[SeasonalDetector, float]:
    rng = random.Random(seed)
    det = SeasonalDetector()
    t = T0
    for i in range(days * 86_400 // STEP_S):
        t = T0 + i * STEP_S
        x = _daily(t) + rng.gauss(0.0, 2.0)
        det.learn_one(t, x)
    return det, t + STEP_S


def test_a_spike_scores_high_and_the_normal_value_low() -> None:
    det, t = _trained()
    assert det.score_one(t, _daily(t) + 80.0) > 0.5
    assert det.score_one(t, _daily(t)) < 0.1


def test_the_same_value_is_normal_at_its_phase_and_anomalous_at_another() -> None:
    det, t = _trained()
    peak_t = t + (86_400 / 4 - t % 86_400) % 86_400  # where the daily sine is at its top, 150
    trough_t = peak_t + 43_200
    assert det.score_one(peak_t, 150.0) < 0.1
    assert det.score_one(trough_t, 150.0) > 0.5


def test_scoring_does_not_change_state() -> None:
    det, t = _trained(days=3)
    first = det.score_one(t, 500.0)
    for _ in range(5):
        det.score_one(t, 1e6)
    assert det.score_one(t, 500.0) == first


def test_a_level_shift_is_detected_then_accepted() -> None:
    rng = random.Random(7)
    det = SeasonalDetector()
    n = 3_000
    for i in range(n):
        t = T0 + i * STEP_S
        det.learn_one(t, 10.0 + rng.gauss(0.0, 0.5))
    scores = []
    for i in range(n, n + 1_000):
        t = T0 + i * STEP_S
        x = 30.0 + rng.gauss(0.0, 0.5)
        scores.append(det.score_one(t, x))
        det.learn_one(t, x)
    assert scores[0] > 0.5
    assert max(scores[-200:]) < 0.5


def test_memory_stays_bounded_on_a_long_stream() -> None:
    rng = random.Random(3)
    tracemalloc.start()
    try:
        det = SeasonalDetector()
        for i in range(20_000):
            det.learn_one(T0 + i * 60.0, rng.random())
        warm, _ = tracemalloc.get_traced_memory()
        for i in range(20_000, 80_000):
            det.learn_one(T0 + i * 60.0, rng.random())
        after, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert after - warm < 64 * 1024
