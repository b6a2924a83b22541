"""A robust seasonal baseline: the median of recent values at the same phase of a day or a week.

Three candidate models run side by side on every point: the recent level (no season), the daily
phase and the weekly phase. Each keeps the last few values per phase bucket and predicts their
median; each tracks its own smoothed absolute error, and the model with the smallest error is
the one that scores (so the period is chosen online, and can change when the series does). The
raw score is the prediction error in units of the chosen model's typical error, turned into an
anomaly likelihood (see ``_likelihood``).
"""

from __future__ import annotations

import math
from typing import ClassVar

from finpilot.watch._detect._likelihood import AnomalyLikelihood

_DAY_S = 86_400.0
_WEEK_S = 7 * _DAY_S
# A season needs enough buckets to be a shape, and few enough to stay small in memory.
_MIN_BUCKETS = 6
_MAX_BUCKETS = 4_096


def _median(values: list[float]) -> float:
    ordered = sorted(values)
    n = len(ordered)
    mid = n // 2
    return ordered[mid] if n % 2 else 0.5 * (ordered[mid - 1] + ordered[mid])


class _PhaseModel:
    """Per-phase recent values for one period (``period_s == 0``: one bucket, the recent level)."""

    def __init__(self, period_s: float, step_s: float, depth: int, alpha: float) -> None:
        self.buckets = 1 if period_s == 0.0 else max(1, round(period_s / step_s))
        self.period_s = period_s
        self.step_s = step_s
        self.depth = depth
        self.values: dict[int, list[float]] = {}
        self.abs_err = 0.0
        self.seen = 0
        self.alpha = alpha

    def bucket(self, t: float) -> int:
        if self.buckets == 1:
            return 0
        return int((t % self.period_s) / self.step_s) % self.buckets

    def predict(self, t: float) -> float | None:
        vals = self.values.get(self.bucket(t))
        if not vals:
            return None
        return _median(vals)

    def learn(self, t: float, x: float) -> None:
        pred = self.predict(t)
        if pred is not None:
            err = abs(x - pred)
            self.seen += 1
            # The first errors set the scale; afterwards a slow average follows it.
            a = max(self.alpha, 1.0 / self.seen)
            self.abs_err += a * (err - self.abs_err)
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
    """Robust seasonal baseline: per-phase medians, the period (none, daily, weekly) chosen online."""

    name: ClassVar[str] = "seasonal"

    def __init__(
        self,
        level_depth: int = 7,
        phase_depth: int = 3,
        alpha: float = 0.01,
        likelihood_window: int = 2000,
        likelihood_short: int = 1,
    ) -> None:
        self._level_depth = level_depth
        self._phase_depth = phase_depth
        self._alpha = alpha
        self._models: list[_PhaseModel] = []
        self._first_t: float | None = None
        self._diffs: list[float] = []
        self._last_t: float | None = None
        self._lik = AnomalyLikelihood(window=likelihood_window, short=likelihood_short)
        self._level = _PhaseModel(0.0, 1.0, level_depth, alpha)
        self._models = [self._level]
        self._step_known = False

    def _raw(self, t: float, x: float) -> float:
        best: _PhaseModel | None = None
        for m in self._models:
            # A seasonal model must have seen two whole periods before it may be chosen.
            if m.seen < max(10, 2 * m.buckets):
                continue
            if best is None or m.abs_err < best.abs_err:
                best = m
        if best is None:
            return 0.0
        pred = best.predict(t)
        if pred is None:
            return 0.0
        scale = max(best.abs_err, 1e-9 * (abs(pred) + 1.0))
        z = abs(x - pred) / scale
        return z / (z + 3.0)

    def score_one(self, t: float, x: float) -> float:
        """The anomaly score of ``x`` at ``t`` (see the module docstring); no state changes."""
        if not math.isfinite(x):
            return 0.0  # a gap or a broken reading is skipped, not scored
        return self._lik.score(self._raw(t, x))

    def learn_one(self, t: float, x: float) -> None:
        """Update the likelihood, then every candidate model, with the point."""
        if not math.isfinite(x):
            return
        self._lik.update(self._raw(t, x))
        if not self._step_known and self._last_t is not None and t > self._last_t:
            self._diffs.append(t - self._last_t)
            if len(self._diffs) == 25:
                self._add_seasons(sorted(self._diffs)[12])
        self._last_t = t
        for m in self._models:
            m.learn(t, x)

    def _add_seasons(self, step_s: float) -> None:
        self._step_known = True
        self._diffs = []
        for period in (_DAY_S, _WEEK_S):
            buckets = period / step_s
            if _MIN_BUCKETS <= buckets <= _MAX_BUCKETS:
                self._models.append(_PhaseModel(period, step_s, self._phase_depth, self._alpha))
