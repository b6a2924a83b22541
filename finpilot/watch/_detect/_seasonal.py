"""A robust seasonal baseline: the median of recent values at the same phase of a day or a week.

Once the sampling step is known (the median of the first gaps), a daily and a weekly model run
side by side, each when its period holds 6 to 4,096 steps. Each keeps the last few values per
phase bucket and predicts their median, and tracks its own smoothed absolute error; the model
with the smaller error, among those that have seen two whole periods, scores, so the period is
chosen online and can change. The raw score is the prediction error in units of that model's
typical error; it is reported relative to the largest such error of the stream lately
(``_record``), so that one threshold suits a smooth series and a noisy one alike.
"""

from __future__ import annotations

import math
from typing import ClassVar

from finpilot.watch._detect._record import RecordRatio

_DAY_S = 86_400.0
_WEEK_S = 7 * _DAY_S
# A season needs enough buckets to be a shape, and few enough to stay small in memory.
_MIN_BUCKETS = 6
_MAX_BUCKETS = 4_096
_STEP_SAMPLE = 25


def _median(values: list[float]) -> float:
    ordered = sorted(values)
    n = len(ordered)
    mid = n // 2
    return ordered[mid] if n % 2 else 0.5 * (ordered[mid - 1] + ordered[mid])


class _PhaseModel:
    """The last ``depth`` values per phase bucket of one period, and the model's typical error."""

    def __init__(self, period_s: float, step_s: float, depth: int, alpha: float) -> None:
        self.buckets = max(1, round(period_s / step_s))
        self.period_s = period_s
        self.step_s = step_s
        self.depth = depth
        self.values: dict[int, list[float]] = {}
        self.abs_err = 0.0
        self.seen = 0
        self.alpha = alpha

    def bucket(self, t: float) -> int:
        return int((t % self.period_s) / self.step_s) % self.buckets

    def predict(self, t: float) -> float | None:
        vals = self.values.get(self.bucket(t))
        return _median(vals) if vals else None

    def learn(self, t: float, x: float) -> None:
        pred = self.predict(t)
        if pred is not None:
            self.seen += 1
            # The first errors set the scale; afterwards a slow average follows it.
            a = max(self.alpha, 1.0 / self.seen)
            self.abs_err += a * (abs(x - pred) - self.abs_err)
        key = self.bucket(t)
        vals = self.values.get(key)
        if vals is None:
            vals = self.values[key] = []
        # A short list, not a deque: a deque's 64-slot blocks make its footprint jump long after
        # the bucket is full, which hides the fact that memory is bounded.
        vals.append(x)
        if len(vals) > self.depth:
            del vals[0]


class SeasonalDetector:
    """Robust seasonal baseline: per-phase medians, the period (daily, weekly) chosen online."""

    name: ClassVar[str] = "seasonal"

    def __init__(
        self,
        phase_depth: int = 3,
        alpha: float = 0.01,
        record_half_life: float = 5_000.0,
        record_floor: float = 3.0,
        full_ratio: float = 3.0,
    ) -> None:
        if phase_depth < 1 or not 0.0 < alpha <= 1.0 or full_ratio <= 0.0:
            raise ValueError("phase_depth >= 1, 0 < alpha <= 1 and full_ratio > 0 are required")
        self._phase_depth = phase_depth
        self._alpha = alpha
        self._full_ratio = full_ratio
        self._models: list[_PhaseModel] = []
        self._gaps: list[float] | None = []
        self._last_t: float | None = None
        self._record = RecordRatio(half_life=record_half_life, floor=record_floor)
        # score_one's result for its point, reused by learn_one of the same point (a memo: no
        # score depends on it).
        self._memo: tuple[float, float, float | None] | None = None

    def _z(self, t: float, x: float) -> float | None:
        """The error of the best ready model in units of its typical error (None: no model ready)."""
        memo = self._memo
        if memo is not None and memo[0] == t and memo[1] == x:
            return memo[2]
        z = self._compute_z(t, x)
        self._memo = (t, x, z)
        return z

    def _compute_z(self, t: float, x: float) -> float | None:
        best: _PhaseModel | None = None
        for m in self._models:
            if m.seen >= 2 * m.buckets and (best is None or m.abs_err < best.abs_err):
                best = m
        if best is None:
            return None
        pred = best.predict(t)
        if pred is None:
            return None
        scale = max(best.abs_err, 1e-9 * (abs(pred) + 1.0))
        return abs(x - pred) / scale

    def score_one(self, t: float, x: float) -> float:
        """The anomaly score of ``x`` at ``t`` (see the module docstring); no state changes."""
        if not math.isfinite(x):
            return 0.0  # a gap or a broken reading is skipped, not scored
        z = self._z(t, x)
        if z is None:
            return 0.0
        return min(self._record.ratio(z) / self._full_ratio, 1.0)

    def learn_one(self, t: float, x: float) -> None:
        """Update the record with the point's error, then every phase model with the point."""
        if not math.isfinite(x):
            return
        z = self._z(t, x)
        self._memo = None
        if z is not None:
            self._record.update(z)
        gaps = self._gaps
        if gaps is not None and self._last_t is not None and t > self._last_t:
            gaps.append(t - self._last_t)
            if len(gaps) == _STEP_SAMPLE:
                self._add_seasons(sorted(gaps)[_STEP_SAMPLE // 2])
        self._last_t = t
        for m in self._models:
            m.learn(t, x)

    def _add_seasons(self, step_s: float) -> None:
        self._gaps = None
        for period in (_DAY_S, _WEEK_S):
            if _MIN_BUCKETS <= period / step_s <= _MAX_BUCKETS:
                self._models.append(_PhaseModel(period, step_s, self._phase_depth, self._alpha))
