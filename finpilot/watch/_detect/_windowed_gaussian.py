"""NAB's windowed-Gaussian baseline: the Gaussian of a sliding window of past values.

The score of a new value is ``1 - Q(|z|)``, one minus the normal tail probability of its
z-score against the mean and (population) standard deviation of the last ``window`` values: 0.5
at the mean, near 1 far from it on either side. This is the behaviour behind NAB's published
windowedGaussian results (the rows of its result files are exactly that); the first point
scores 0, and a window with no spread uses a standard deviation of 1e-6, as NAB's does.

Mean and spread are kept by a sliding Welford update (O(1) per point) and recomputed exactly
every ``window`` points so rounding cannot drift; a window whose values are all equal is
recognised exactly (a running count of equal values), because the 1e-6 fallback turns the
smallest change after a flat stretch into a certain anomaly and must not hinge on rounding.
"""

from __future__ import annotations

import math
from collections import deque
from typing import ClassVar

_SQRT2 = math.sqrt(2.0)
_FLAT_STD = 1e-6


class WindowedGaussian:
    """Windowed Gaussian tail detector (NAB's ``windowedGaussian``, window of 1000, step 1)."""

    name: ClassVar[str] = "windowed-gaussian"

    def __init__(self, window: int = 1000) -> None:
        if window < 1:
            raise ValueError("window must be at least 1")
        self.window = window
        self._values: deque[float] = deque()
        self._mean = 0.0
        self._m2 = 0.0
        self._run = 0  # how many of the newest values are equal to the newest one
        self._since_exact = 0

    def _std(self) -> float:
        n = len(self._values)
        if self._run >= n:
            return _FLAT_STD
        std = math.sqrt(max(self._m2, 0.0) / n)
        return std if std > 0.0 else _FLAT_STD

    def score_one(self, t: float, x: float) -> float:
        """``1 - Q(|x - mean| / std)`` over the window; 0 before any value, and for NaN or inf."""
        if not self._values or not math.isfinite(x):
            return 0.0
        z = abs(x - self._mean) / self._std()
        # Written as 1 - Q rather than as the CDF so that scores round to exactly 1.0 where NAB's
        # do: its published thresholds are 1.0, so which rows reach 1.0 decides the score.
        return 1.0 - 0.5 * math.erfc(z / _SQRT2)

    def learn_one(self, t: float, x: float) -> None:
        """Slide the window over ``x`` (NaN and inf are skipped)."""
        if not math.isfinite(x):
            return
        values = self._values
        self._run = self._run + 1 if values and values[-1] == x else 1
        if len(values) < self.window:
            values.append(x)
            delta = x - self._mean
            self._mean += delta / len(values)
            self._m2 += delta * (x - self._mean)
        else:
            old = values.popleft()
            values.append(x)
            mean = self._mean + (x - old) / self.window
            self._m2 += (x - old) * (x - mean + old - self._mean)
            self._mean = mean
        self._since_exact += 1
        if self._since_exact >= self.window:
            self._exact()

    def _exact(self) -> None:
        n = len(self._values)
        self._mean = math.fsum(self._values) / n
        self._m2 = math.fsum((v - self._mean) ** 2 for v in self._values)
        self._since_exact = 0
