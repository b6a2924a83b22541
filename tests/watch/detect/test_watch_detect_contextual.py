"""The contextual detector: novelty of short sequences of quantised values."""

from __future__ import annotations

import random
import tracemalloc

from hypothesis import given, settings
from hypothesis import strategies as st

from finpilot.watch import ContextualDetector


def _learn(det: ContextualDetector, values: list[float]) -> None:
    for i, x in enumerate(values):
        det.learn_one(float(i), x)


def test_a_repeating_pattern_becomes_familiar() -> None:
    det = ContextualDetector()
    pattern = [0.0, 1.0, 5.0, 9.0, 10.0, 7.0, 3.0]
    _learn(det, pattern * 20)
    t = 1_000.0
    assert det.score_one(t, pattern[0]) == 0.0


def test_a_new_extreme_is_novel_where_a_familiar_value_is_not() -> None:
    det = ContextualDetector()
    _learn(det, [0.0, 1.0, 5.0, 9.0, 10.0, 7.0, 3.0] * 20)
    assert det.score_one(1_000.0, 0.0) == 0.0  # 0 follows 3 in the pattern
    assert det.score_one(1_000.0, 25.0) >= 2 / 3


def test_a_familiar_value_in_an_unfamiliar_order_is_partly_novel() -> None:
    det = ContextualDetector()
    _learn(det, [0.0, 10.0] * 50)  # alternates; 0 after 0 has never happened
    score = det.score_one(1_000.0, 0.0)  # the last value learned was 10.0, so this is familiar
    assert score == 0.0
    det.learn_one(1_000.0, 0.0)
    assert 0.0 < det.score_one(1_001.0, 0.0) < 1.0


@settings(max_examples=50, deadline=None)
@given(st.lists(st.floats(-1e6, 1e6, allow_nan=False), min_size=1, max_size=60), st.floats(-1e7, 1e7))
def test_scores_lie_in_the_unit_interval_and_scoring_is_pure(values: list[float], probe: float) -> None:
    det = ContextualDetector()
    _learn(det, values)
    first = det.score_one(99.0, probe)
    det.score_one(99.0, probe * 2 + 1)
    assert 0.0 <= first <= 1.0
    assert det.score_one(99.0, probe) == first


def test_memory_stays_bounded_on_a_long_stream() -> None:
    rng = random.Random(5)
    tracemalloc.start()
    try:
        det = ContextualDetector()
        _learn(det, [rng.gauss(0.0, 1.0) for _ in range(20_000)])
        warm, _ = tracemalloc.get_traced_memory()
        for i in range(80_000):
            det.learn_one(float(i), rng.gauss(0.0, 1.0))
        after, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # At most bins + bins**2 + bins**3 contexts exist, whatever the stream's length.
    assert after - warm < 64 * 1024
