"""Anomaly likelihood: how unusual the recent raw scores are against their own history.

A raw score (a prediction error, a novelty) means little on its own: a noisy series has large
errors all the time. Numenta's HTM detector owes much of its NAB score to a post-processing step
that keeps a rolling Gaussian of the raw scores and reports the tail probability of the short-term
mean of the last few of them. This is our own bounded, O(1) version of that idea: running sums
over a fixed window, no periodic re-estimation.
"""

from __future__ import annotations

import math
from collections import deque

_LOG_FLOOR = math.log(1e-10)


class AnomalyLikelihood:
    """A rolling Gaussian over raw scores and the log-scaled tail probability of their recent mean.

    ``score(raw)`` is what ``update(raw)`` would make of ``raw`` without changing anything;
    both cost O(1). The result is in [0, 1]: 0.5 is a tail probability of about 1e-5, 1.0 of 1e-10.
    """

    def __init__(self, window: int = 2000, short: int = 5, warmup: int = 150, min_std: float = 0.02) -> None:
        if window < 2 or short < 1 or warmup < 2 or min_std <= 0.0:
            raise ValueError("window >= 2, short >= 1, warmup >= 2 and min_std > 0 are required")
        self._long: deque[float] = deque(maxlen=window)
        self._short: deque[float] = deque(maxlen=short)
        self._sum = 0.0
        self._sumsq = 0.0
        self._short_sum = 0.0
        self._warmup = warmup
        self._min_std = min_std

    def score(self, raw: float) -> float:
        """The log-scaled likelihood that ``raw``, with the few raw scores before it, is anomalous."""
        n = len(self._long)
        if n < self._warmup:
            return 0.0
        mean = self._sum / n
        var = max(self._sumsq / n - mean * mean, 0.0)
        std = max(math.sqrt(var), self._min_std)
        short = self._short
        if len(short) == short.maxlen:
            recent = (self._short_sum - short[0] + raw) / len(short)
        else:
            recent = (self._short_sum + raw) / (len(short) + 1)
        z = (recent - mean) / std
        if z <= 0.0:
            return 0.0
        tail = 0.5 * math.erfc(z / math.sqrt(2.0))
        if tail <= 1e-10:
            return 1.0
        return math.log(tail) / _LOG_FLOOR

    def update(self, raw: float) -> None:
        """Take ``raw`` into the long and the short window."""
        long, short = self._long, self._short
        if len(long) == long.maxlen:
            old = long[0]
            self._sum -= old
            self._sumsq -= old * old
        long.append(raw)
        self._sum += raw
        self._sumsq += raw * raw
        if len(short) == short.maxlen:
            self._short_sum -= short[0]
        short.append(raw)
        self._short_sum += raw
