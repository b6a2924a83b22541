"""Every registered detector keeps the streaming contract (finpilot/watch/_detect/_contract.py).

Parametrized over ``detector_names()``, so a detector registered later is held to it too:
scores are finite and in [0, 1]; ``score_one`` changes no state; runs are deterministic; memory
and time per point do not grow with the stream; NaN and inf are skipped (score 0, state
unchanged); flat lines and steps do not crash.
"""

from __future__ import annotations

import copy
import math
import time
import tracemalloc

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from finpilot.watch import Detector, detector_names, make_detector

NAMES = detector_names()
STEP_S = 300.0


def series(n: int, seed: int = 0) -> np.ndarray:
    """A daily-ish sine with noise and a few spikes: a bit like the NAB series."""
    rng = np.random.default_rng(seed)
    x = 50 + 10 * np.sin(np.arange(n) * 2 * np.pi / 288) + rng.normal(0, 1, n)
    x[rng.integers(0, n, max(1, n // 500))] += 40
    return x


def stream(det: Detector, values: np.ndarray, start: int = 0) -> list[float]:
    out = []
    for i, x in enumerate(values.tolist(), start=start):
        out.append(det.score_one(i * STEP_S, x))
        det.learn_one(i * STEP_S, x)
    return out


def test_the_registry_has_detectors() -> None:
    assert "windowed-gaussian" in NAMES
    assert "null" in NAMES


@pytest.mark.parametrize("name", NAMES)
def test_each_instance_is_fresh_and_named(name: str) -> None:
    a, b = make_detector(name), make_detector(name)
    assert a is not b
    assert type(a).name == name


@pytest.mark.parametrize("name", NAMES)
@settings(max_examples=25, deadline=None)
@given(values=st.lists(st.floats(-1e12, 1e12, allow_nan=False, allow_infinity=False), min_size=1, max_size=60))
def test_scores_are_finite_and_in_the_unit_interval_for_any_finite_input(name: str, values: list[float]) -> None:
    det = make_detector(name)
    for score in stream(det, np.array(values)):
        assert math.isfinite(score)
        assert 0.0 <= score <= 1.0


@pytest.mark.parametrize("name", NAMES)
def test_score_one_changes_no_state(name: str) -> None:
    values = series(3000, seed=1)
    det = make_detector(name)
    stream(det, values[:2000])
    twin = copy.deepcopy(det)
    probe = values[2000:]
    for i, x in enumerate(probe.tolist(), start=2000):
        t = i * STEP_S
        first = det.score_one(t, x)
        assert det.score_one(t, x) == first  # scoring twice gives the same value
        det.learn_one(t, x)
        twin.learn_one(t, x)  # learning alone, never scored
    # Scoring then learning left the same state as learning alone: both score alike afterwards.
    after = [det.score_one(i * STEP_S, float(x)) for i, x in enumerate(series(200, seed=9), start=3000)]
    alone = [twin.score_one(i * STEP_S, float(x)) for i, x in enumerate(series(200, seed=9), start=3000)]
    assert after == alone


@pytest.mark.parametrize("name", NAMES)
def test_runs_are_deterministic(name: str) -> None:
    values = series(4000, seed=2)
    assert stream(make_detector(name), values) == stream(make_detector(name), values)


@pytest.mark.parametrize("name", NAMES)
def test_memory_is_bounded(name: str) -> None:
    values = series(20_000, seed=3)
    det = make_detector(name)
    tracemalloc.start()
    try:
        stream(det, values[:5000])
        early, _ = tracemalloc.get_traced_memory()
        stream(det, values[5000:], start=5000)
        late, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # A detector may keep a window of a few thousand points; it must not keep the stream.
    assert late - early < 256 * 1024, f"{name} grew by {late - early} bytes from 5k to 20k points"


@pytest.mark.parametrize("name", NAMES)
def test_time_per_point_does_not_grow(name: str) -> None:
    values = series(40_000, seed=4)
    det = make_detector(name)
    start = time.perf_counter()
    stream(det, values[:5000])
    first = time.perf_counter() - start
    stream(det, values[5000:35_000], start=5000)
    start = time.perf_counter()
    stream(det, values[35_000:], start=35_000)
    last = time.perf_counter() - start
    # Generous: the machine is shared, and warm-up (the first window) may be the slower part.
    assert last < 4 * first + 0.05, f"{name}: last 5k points took {last:.3f}s, first 5k {first:.3f}s"


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_nan_and_inf_are_skipped(name: str, bad: float) -> None:
    values = series(1500, seed=5)
    det, twin = make_detector(name), make_detector(name)
    stream(det, values[:1000])
    stream(twin, values[:1000])
    assert det.score_one(1000 * STEP_S, bad) == 0.0
    det.learn_one(1000 * STEP_S, bad)
    # The bad point left no trace: the same scores as a twin that never saw it.
    assert stream(det, values[1000:], start=1001) == stream(twin, values[1000:], start=1001)


@pytest.mark.parametrize("name", NAMES)
def test_a_flat_line_and_a_step_do_not_crash(name: str) -> None:
    flat = np.full(3000, 7.0)
    step = np.r_[np.full(1500, 1.0), np.full(1500, 1e6)]
    for values in (flat, step, np.zeros(10), np.array([0.0])):
        scores = stream(make_detector(name), values)
        assert all(0.0 <= s <= 1.0 for s in scores)
