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
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Sequence

from finpilot.watch._errors import QueryError
from finpilot.watch._metrics._types import Aggregation

MAX_STEPS = 1_000_000
"""The most steps one range read evaluates, so a typo (a 1 ms step over a month) cannot eat the machine.

Not Prometheus' 11,000: :class:`PrometheusQuery` cuts a longer read into chunks and answers it
whole, and the two backends must agree (the conformance suite reads 12,001 steps)."""


def steps(start: float, end: float, step: float) -> list[float]:
    """The evaluation times of a range read; raises :class:`QueryError` on a bad range or step."""
    if not (math.isfinite(start) and math.isfinite(end)):
        raise QueryError("start and end must be finite times", field="start", fix="pass Unix seconds")
    if end < start:
        raise QueryError(f"end {end} is before start {start}", field="end", fix="swap start and end")
    if not (math.isfinite(step) and step > 0):
        raise QueryError(f"step must be a positive number of seconds, got {step}", field="step", fix="e.g. 15")
    count = math.floor((end - start) / step + 1e-9) + 1
    if count > MAX_STEPS:
        raise QueryError(
            f"{count} steps exceed the limit of {MAX_STEPS}", field="step", fix="use a larger step or a shorter range"
        )
    return [start + i * step for i in range(count)]


def check_window(window: float, field: str = "window") -> None:
    """Refuse a rate window that is not a positive number of seconds."""
    if not (math.isfinite(window) and window > 0):
        raise QueryError(f"{field} must be a positive number of seconds, got {window}", field=field, fix="e.g. 60")


def instant_values(
    times: Sequence[float], values: Sequence[float], at: Sequence[float], lookback: float
) -> list[tuple[float, float]]:
    """The value at each evaluation time: the newest sample within ``[t - lookback, t]``."""
    found: list[tuple[float, float]] = []
    for t in at:
        i = bisect.bisect_right(times, t) - 1
        if i >= 0 and times[i] >= t - lookback:
            found.append((t, values[i]))
    return found


def extrapolated_rate(times: Sequence[float], values: Sequence[float], t: float, window: float) -> float | None:
    """``rate(x[window])`` evaluated at ``t`` from a series' sorted points; ``None`` with fewer than 2 samples."""
    lo = bisect.bisect_left(times, t - window)
    hi = bisect.bisect_right(times, t)
    if hi - lo < 2:
        return None
    correction = 0.0
    last = 0.0
    for v in values[lo:hi]:
        if v < last:
            correction += last
        last = v
    first_v = values[lo]
    result = last - first_v + correction
    first_t, last_t = times[lo], times[hi - 1]
    to_start = first_t - (t - window)
    to_end = t - last_t
    sampled = last_t - first_t
    average = sampled / (hi - lo - 1)
    if result > 0 and first_v >= 0:
        # A counter cannot have been below zero: do not extrapolate back past its zero point.
        to_zero = sampled * (first_v / result)
        to_start = min(to_start, to_zero)
    threshold = average * 1.1
    interval = sampled
    interval += to_start if to_start < threshold else average / 2
    interval += to_end if to_end < threshold else average / 2
    return result * (interval / sampled) / window


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
    return start + (end - start) * (rank / count)


def aggregate_values(op: Aggregation, values: Sequence[float]) -> float:
    """One aggregation over the values that several series have at one step."""
    if op == "sum":
        return math.fsum(values) if all(math.isfinite(v) for v in values) else sum(values)
    if op == "count":
        return float(len(values))
    if op == "avg":
        return aggregate_values("sum", values) / len(values)
    real = [v for v in values if not math.isnan(v)]
    if not real:
        return math.nan
    return min(real) if op == "min" else max(real)
