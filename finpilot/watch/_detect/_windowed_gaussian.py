"""NAB's windowed-Gaussian baseline: the Gaussian of a sliding window of past values.

The score of a new value is ``1 - Q(|z|)``, one minus the normal tail probability of its
z-score against the mean and (population) standard deviation of a window of past values: 0.5 at
the mean, near 1 far from it on either side. The window fills up to ``window`` values, its
statistics re-estimated at every point; once full it slides ``step`` values at a time, the
statistics re-estimated once per step. The first point scores 0, and a window with no spread
uses a standard deviation of 1e-6. With ``window=6400, step=100`` this is exactly the detector
behind NAB's published windowedGaussian results (checked row for row against them; NAB's
current source says 1000 and 1, but its published result files were not made with those).

While the window fills, mean and spread follow a Welford update (O(1) per point); once it is
full, the values live in a fixed numpy ring and each slide recomputes them with numpy (O(window)
once per ``step`` points, as NAB does), so memory is fixed and time per point is constant. A
window whose values are all equal is recognised exactly, because the 1e-6 fallback turns the
smallest change after a flat stretch into a certain anomaly and must not hinge on rounding.
"""

from __future__ import annotations

import math
from typing import ClassVar

import numpy as np

_SQRT2 = math.sqrt(2.0)
_FLAT_STD = 1e-6


class WindowedGaussian:
    """Windowed Gaussian tail detector (NAB's ``windowedGaussian``: window 6400, step 100)."""

    name: ClassVar[str] = "windowed-gaussian"

    def __init__(self, window: int = 6400, step: int = 100) -> None:
        if window < 1 or step < 1:
            raise ValueError("window and step must be at least 1")
        self.window = window
        self.step = step
        self._ring = np.empty(window)
        self._count = 0  # values in the window (up to ``window``)
        self._head = 0  # once full: where the oldest value sits in the ring
        self._pending: list[float] = []
        self._mean = 0.0
        self._m2 = 0.0
        self._std = _FLAT_STD
        self._last = math.nan
        self._run = 0  # while filling: how many of the newest values equal the newest one

    def score_one(self, t: float, x: float) -> float:
        """``1 - Q(|x - mean| / std)`` over the window; 0 before any value, and for NaN or inf."""
        if self._count == 0 or not math.isfinite(x):
            return 0.0
        z = abs(x - self._mean) / self._std
        # Written as 1 - Q rather than as the CDF so that scores round to 1.0 where NAB's do:
        # its published thresholds are 1.0, so which rows reach 1.0 decides the score.
        return 1.0 - 0.5 * math.erfc(z / _SQRT2)

    def learn_one(self, t: float, x: float) -> None:
        """Take ``x`` into the window (NaN and inf are skipped)."""
        if not math.isfinite(x):
            return
        if self._count < self.window:
            self._run = self._run + 1 if x == self._last else 1
            self._last = x
            self._ring[self._count] = x
            self._count += 1
            delta = x - self._mean
            self._mean += delta / self._count
            self._m2 += delta * (x - self._mean)
            flat = self._run >= self._count
            std = 0.0 if flat else math.sqrt(max(self._m2, 0.0) / self._count)
            self._std = std if std > 0.0 else _FLAT_STD
            return
        self._pending.append(x)
        if len(self._pending) < self.step:
            return
        # Overwrite the oldest ``step`` values (a step longer than the window keeps its newest).
        for value in self._pending[-self.window :]:
            self._ring[self._head] = value
            self._head = (self._head + 1) % self.window
        self._pending.clear()
        ring = self._ring
        self._mean = float(np.mean(ring))
        std = 0.0 if float(np.ptp(ring)) == 0.0 else float(np.std(ring))
        self._std = std if std > 0.0 else _FLAT_STD
