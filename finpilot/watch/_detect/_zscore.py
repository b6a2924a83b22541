"""The distance of a value from the mean of a long trailing window, in standard deviations.

A running sum and sum of squares over a fixed window make it O(1) per point; both are recomputed
from the window once per window length, so float cancellation cannot build up over a long stream.
"""

from __future__ import annotations

import math
from collections import deque


class RollingZ:
    """``|x - mean| / std`` over the last ``window`` values (0 until ``warmup`` values are seen)."""

    def __init__(self, window: int = 6400, warmup: int = 10) -> None:
        if window < 2 or not 2 <= warmup <= window:
            raise ValueError("window >= 2 and 2 <= warmup <= window are required")
        self._values: deque[float] = deque(maxlen=window)
        self._sum = 0.0
        self._sumsq = 0.0
        self._warmup = warmup
        self._since_exact = 0

    def z(self, x: float) -> float:
        """How many standard deviations ``x`` lies from the window's mean; no state changes."""
        n = len(self._values)
        if n < self._warmup:
            return 0.0
        mean = self._sum / n
        var = max(self._sumsq / n - mean * mean, 0.0)
        # A flat window still has a scale: a relative floor keeps a constant series finite.
        std = max(math.sqrt(var), 1e-9 * (abs(mean) + 1.0))
        return abs(x - mean) / std

    def update(self, x: float) -> None:
        """Append ``x``, dropping the oldest value once the window is full."""
        values = self._values
        if len(values) == values.maxlen:
            old = values[0]
            self._sum -= old
            self._sumsq -= old * old
        values.append(x)
        self._sum += x
        self._sumsq += x * x
        self._since_exact += 1
        if self._since_exact >= len(values):
            self._sum = math.fsum(values)
            self._sumsq = math.fsum(v * v for v in values)
            self._since_exact = 0
