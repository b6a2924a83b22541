"""PromQL's arithmetic over a series' points, as Prometheus 2.42 (Debian's, which the tests run) does it.

- **Steps** are ``start, start + step, ... <= end``.
- **Instant values** (``range``): at step ``t`` the newest sample with timestamp in
  ``[t - lookback, t]``; none there, no point at ``t``.
- **rate** (``extrapolatedRate``): the samples in ``[t - window, t]`` (at least two), their
  increase corrected for counter resets (a drop means the counter restarted from zero, so the value
  before the drop is added back), then extrapolated towards the window's edges: by the real distance
  when the first/last sample lies within 1.1 average sample intervals of the edge, else by half an
  average interval; and never further back than where the counter would have been zero. Divided by
  the window.
- **histogram_quantile** (``bucketQuantile``): buckets sorted by ``le``, counts made monotonic,
  equal bounds merged; NaN without a ``+Inf`` bucket, with fewer than two buckets or with no
  observations; otherwise linear interpolation inside the bucket that holds rank ``q * count``
  (the lowest bucket starts at 0 unless its bound is <= 0; a rank in the ``+Inf`` bucket gives the
  highest finite bound). ``q < 0`` gives ``-Inf``, ``q > 1`` gives ``+Inf``.
- **Aggregations**: ``sum``/``avg`` follow IEEE arithmetic (a NaN input gives NaN), ``min``/``max``
  ignore NaN unless every input is NaN, ``count`` counts series with a value at the step.

Times are integer milliseconds inside, as in Prometheus, so durations round the same way; every
series is evaluated at all steps at once with numpy.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from finpilot.watch._errors import QueryError
from finpilot.watch._metrics._types import Aggregation

MAX_STEPS = 1_000_000
"""The most steps one range read evaluates, so a typo (a 1 ms step over a month) cannot eat the machine.

Not Prometheus' 11,000: :class:`PrometheusQuery` cuts a longer read into chunks and answers it
whole, and the two backends must agree (the conformance suite reads 12,001 steps)."""

Grid = tuple["np.ndarray[Any, np.dtype[np.float64]]", "np.ndarray[Any, np.dtype[np.bool_]]"]
"""One series evaluated at every step: its values, and whether it has a value at each step.

A separate mask rather than NaN for "no value": NaN is a value a series can have."""


def steps_ms(start: float, end: float, step: float) -> np.ndarray[Any, np.dtype[np.int64]]:
    """The evaluation times of a range read in ms (as Prometheus aligns them); :class:`QueryError` if bad."""
    if not (math.isfinite(start) and math.isfinite(end)):
        raise QueryError("start and end must be finite times", field="start", fix="pass Unix seconds")
    if end < start:
        raise QueryError(f"end {end} is before start {start}", field="end", fix="swap start and end")
    if not (math.isfinite(step) and step >= 0.001):
        raise QueryError(f"step must be a positive number of seconds, got {step}", field="step", fix="e.g. 15")
    lo, hi, every = round(start * 1000), round(end * 1000), round(step * 1000)
    count = (hi - lo) // every + 1
    if count > MAX_STEPS:
        raise QueryError(
            f"{count} steps exceed the limit of {MAX_STEPS}", field="step", fix="use a larger step or a shorter range"
        )
    return lo + np.arange(count, dtype=np.int64) * every


def check_window(window: float, field: str = "window") -> int:
    """A rate window in ms; refuses one that is not a positive number of seconds."""
    if not (math.isfinite(window) and window >= 0.001):
        raise QueryError(f"{field} must be a positive number of seconds, got {window}", field=field, fix="e.g. 60")
    return round(window * 1000)


def instant_grid(
    times: np.ndarray[Any, np.dtype[np.int64]],
    values: np.ndarray[Any, np.dtype[np.float64]],
    at: np.ndarray[Any, np.dtype[np.int64]],
    lookback_ms: int,
) -> Grid:
    """The value at each step: the newest sample within ``[t - lookback, t]``."""
    idx = np.searchsorted(times, at, side="right") - 1
    safe = np.maximum(idx, 0)
    present = (idx >= 0) & (times[safe] >= at - lookback_ms) if len(times) else np.zeros(len(at), dtype=bool)
    return (values[safe] if len(times) else np.zeros(len(at))), present


def rate_grid(
    times: np.ndarray[Any, np.dtype[np.int64]],
    values: np.ndarray[Any, np.dtype[np.float64]],
    at: np.ndarray[Any, np.dtype[np.int64]],
    window_ms: int,
) -> Grid:
    """``rate(x[window])`` at every step (vectorised ``extrapolatedRate``; times in ms, as Prometheus counts)."""
    if len(times) < 2:
        return np.zeros(len(at)), np.zeros(len(at), dtype=bool)
    lo = np.searchsorted(times, at - window_ms, side="left")
    hi = np.searchsorted(times, at, side="right")
    present = hi - lo >= 2
    lo_i, last_i = np.minimum(lo, len(times) - 1), np.maximum(hi - 1, 0)
    # Counter resets: a drop adds the value before it. Cumulated once, differenced per window; a
    # window that holds a reset is recomputed in order below, so its sum rounds as Prometheus' does.
    drops = np.zeros(len(values))
    drops[1:] = np.where(values[1:] < values[:-1], values[:-1], 0.0)
    cumulative = np.cumsum(drops)
    with np.errstate(invalid="ignore", divide="ignore"):
        has_reset = present & (cumulative[last_i] != cumulative[lo_i])
        first_v, last_v = values[lo_i], values[last_i]
        result = last_v - first_v
        to_start = (times[lo_i] - (at - window_ms)) / 1000
        to_end = (at - times[last_i]) / 1000
        sampled = (times[last_i] - times[lo_i]) / 1000
        average = sampled / (hi - lo - 1)
        for i in np.flatnonzero(has_reset):
            correction, last = 0.0, 0.0
            for v in values[lo[i] : hi[i]]:
                if v < last:
                    correction += last
                last = v
            result[i] = last - first_v[i] + correction
        # A counter cannot have been below zero: do not extrapolate back past its zero point.
        to_zero = sampled * (first_v / result)
        clamp = (result > 0) & (first_v >= 0) & (to_zero < to_start)
        to_start = np.where(clamp, to_zero, to_start)
        threshold = average * 1.1
        interval = sampled + np.where(to_start < threshold, to_start, average / 2)
        interval = interval + np.where(to_end < threshold, to_end, average / 2)
        # Prometheus 2.42 divides the factor, not the result, by the window: the same rounding.
        rate = result * (interval / sampled / (window_ms / 1000))
    return rate, present


def _divide(a: float, b: float) -> float:
    """IEEE division, as Go does it: x/0 is +-Inf, 0/0 is NaN (Python would raise)."""
    if b == 0:
        return math.nan if a == 0 or math.isnan(a) else math.copysign(math.inf, a) * math.copysign(1.0, b)
    return a / b


def bucket_quantile(q: float, buckets: Sequence[tuple[float, float]]) -> float:
    """The ``q``-quantile from cumulative ``(upper bound, count)`` buckets, as Prometheus interpolates it."""
    if math.isnan(q):
        return math.nan
    if q < 0:
        return -math.inf
    if q > 1:
        return math.inf
    ordered = sorted(buckets, key=lambda b: b[0])
    if not ordered or not math.isinf(ordered[-1][0]) or ordered[-1][0] < 0:
        return math.nan
    merged: list[list[float]] = []
    for bound, count in ordered:
        if merged and merged[-1][0] == bound:
            merged[-1][1] += count
        else:
            merged.append([bound, count])
    # Rates of cumulative buckets can come out slightly non-monotonic (scrape timing); Prometheus
    # 2.42 lifts each count to the largest one below it.
    peak = -math.inf
    for bucket in merged:
        peak = bucket[1] = max(peak, bucket[1])
    if len(merged) < 2:
        return math.nan
    observations = merged[-1][1]
    if observations == 0 or math.isnan(observations):
        return math.nan
    rank = q * observations
    b = next((i for i, m in enumerate(merged) if m[1] >= rank), len(merged) - 1)
    if b == len(merged) - 1:
        return merged[-2][0]
    if b == 0 and merged[0][0] <= 0:
        return merged[0][0]
    start, end, count = 0.0, merged[b][0], merged[b][1]
    if b > 0:
        start = merged[b - 1][0]
        count -= merged[b - 1][1]
        rank -= merged[b - 1][1]
    return start + (end - start) * _divide(rank, count)


def quantile_grid(
    q: float,
    bounds: Sequence[float],
    counts: np.ndarray[Any, np.dtype[np.float64]],
    present: np.ndarray[Any, np.dtype[np.bool_]],
) -> Grid:
    """:func:`bucket_quantile` at every step; ``counts``/``present`` have one row per bucket bound.

    Steps where every bucket has a finite count are computed at once; the rest (a bucket missing
    at that step, a NaN count) go through :func:`bucket_quantile` one by one.
    """
    has = np.asarray(present.any(axis=0), dtype=np.bool_)
    values = np.full(counts.shape[1], np.nan)
    order = sorted(range(len(bounds)), key=lambda r: bounds[r])
    ordered = [bounds[r] for r in order]
    clean = present.all(axis=0) & np.isfinite(counts).all(axis=0)
    fast = len(set(ordered)) == len(ordered) and len(ordered) >= 2 and ordered[-1] == math.inf and 0 <= q <= 1
    if fast:
        b_arr = np.array(ordered)
        c = np.maximum.accumulate(counts[order][:, clean], axis=0)  # the monotonic fix, per step
        observations = c[-1]
        rank = q * observations
        ge = c[:-1] >= rank
        b = np.where(ge.any(axis=0), ge.argmax(axis=0), len(ordered) - 1)
        cols = np.arange(c.shape[1])
        below = np.where(b > 0, c[np.maximum(b - 1, 0), cols], 0.0)
        start = np.where(b > 0, b_arr[np.maximum(b - 1, 0)], 0.0)
        end = b_arr[b]
        with np.errstate(invalid="ignore", divide="ignore"):
            found = start + (end - start) * ((rank - below) / (c[b, cols] - below))
        found = np.where(b == len(ordered) - 1, b_arr[-2], found)
        found = np.where((b == 0) & (b_arr[0] <= 0), b_arr[0], found)
        values[clean] = np.where(observations == 0, np.nan, found)
    rest = has & ~clean if fast else has
    for i in np.flatnonzero(rest):
        values[i] = bucket_quantile(q, [(bounds[r], float(counts[r, i])) for r in range(len(bounds)) if present[r, i]])
    return values, has


def _running_mean(
    values: np.ndarray[Any, np.dtype[np.float64]], present: np.ndarray[Any, np.dtype[np.bool_]]
) -> np.ndarray[Any, np.dtype[np.float64]]:
    """Prometheus 2.42's ``avg``: an incremental mean (no overflow), Inf kept as it does."""
    mean = np.full(values.shape[1], np.nan)
    n = np.zeros(values.shape[1])
    for row, has in zip(values, present, strict=True):
        first = has & (n == 0)
        later = has & (n > 0)
        n = n + has
        mean = np.where(first, row, mean)
        # An infinite mean stays as it is unless a NaN or an Inf of the other sign arrives.
        keep = np.isinf(mean) & ((np.isinf(row) & ((mean > 0) == (row > 0))) | np.isfinite(row))
        step = mean + (row / n - mean / n)
        mean = np.where(later & ~keep, step, mean)
    return mean


def aggregate_grids(op: Aggregation, grids: Sequence[Grid]) -> Grid:
    """One aggregation over several series' grids, step by step (see the module docstring for NaN)."""
    values = np.vstack([g[0] for g in grids])
    present = np.vstack([g[1] for g in grids])
    count = present.sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        if op == "sum":
            # Added one series at a time, in the caller's (Prometheus') series order: the same rounding.
            found = np.zeros(values.shape[1])
            for row, has in zip(values, present, strict=True):
                found = np.where(has, found + row, found)
        elif op == "count":
            found = count.astype(np.float64)
        elif op == "avg":
            found = _running_mean(values, present)
        else:
            real = present & ~np.isnan(values)
            fill = np.inf if op == "min" else -np.inf
            picked = np.where(real, values, fill)
            found = picked.min(axis=0) if op == "min" else picked.max(axis=0)
            found = np.where(real.any(axis=0), found, np.nan)
    return found, count > 0
