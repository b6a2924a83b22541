"""The vectorised PromQL arithmetic agrees with the step-by-step definitions it replaces.

These reach into the private evaluation module on purpose: the public query methods are tested
against hand-computed answers elsewhere; here the fast paths are held to the slow ones.
"""

from __future__ import annotations

import math

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from finpilot.watch._metrics._evaluate import bucket_quantile, quantile_grid, rate_grid

_counts = st.floats(min_value=0, max_value=1e6, allow_nan=False)


@given(
    st.lists(st.sampled_from([0.005, 0.01, 0.1, 0.5, 1.0, 2.5, 10.0, -1.0, 0.0]), min_size=1, max_size=6, unique=True),
    st.lists(st.lists(_counts, min_size=7, max_size=7), min_size=1, max_size=5),
    st.floats(min_value=-0.5, max_value=1.5, allow_nan=False),
)
def test_quantile_grid_matches_bucket_quantile_step_by_step(
    finite_bounds: list[float], per_step: list[list[float]], q: float
) -> None:
    bounds = [*finite_bounds, math.inf]
    counts = np.array([[step[i] for step in per_step] for i in range(len(bounds))], dtype=np.float64)
    present = np.ones_like(counts, dtype=bool)
    values, has = quantile_grid(q, bounds, counts, present)
    assert has.all()
    for i in range(len(per_step)):
        expected = bucket_quantile(q, [(b, float(counts[r, i])) for r, b in enumerate(bounds)])
        got = float(values[i])
        assert (math.isnan(expected) and math.isnan(got)) or got == expected


def _rate_by_definition(times: list[int], values: list[float], t: int, window: int) -> float | None:
    inside = [(ts, v) for ts, v in zip(times, values, strict=True) if t - window <= ts <= t]
    if len(inside) < 2:
        return None
    correction, last = 0.0, 0.0
    for _, v in inside:
        if v < last:
            correction += last
        last = v
    first_t, first_v = inside[0]
    last_t = inside[-1][0]
    result = last - first_v + correction
    to_start, to_end = (first_t - (t - window)) / 1000, (t - last_t) / 1000
    sampled = (last_t - first_t) / 1000
    average = sampled / (len(inside) - 1)
    if result > 0 and first_v >= 0:
        to_start = min(to_start, sampled * (first_v / result))
    interval = sampled + (to_start if to_start < average * 1.1 else average / 2)
    interval += to_end if to_end < average * 1.1 else average / 2
    return result * (interval / sampled / (window / 1000))


@given(
    st.lists(st.tuples(st.integers(1, 40_000), st.floats(min_value=0, max_value=1e4)), min_size=0, max_size=25),
    st.integers(1_000, 120_000),
)
def test_rate_grid_matches_the_definition(gaps_values: list[tuple[int, float]], window: int) -> None:
    times, t = [], 0
    for gap, _ in gaps_values:
        t += gap
        times.append(t)
    values = [v for _, v in gaps_values]
    at = np.arange(0, t + 60_000, 7_500, dtype=np.int64)
    grid, present = rate_grid(np.array(times, dtype=np.int64), np.array(values), at, window)
    for i, step in enumerate(at.tolist()):
        expected = _rate_by_definition(times, values, step, window)
        assert bool(present[i]) == (expected is not None)
        if expected is not None:
            assert float(grid[i]) == expected
