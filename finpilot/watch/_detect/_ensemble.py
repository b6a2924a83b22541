"""The default detector: contextual novelty and long-window deviation, or the seasonal baseline.

Contextual novelty (``_contextual``) catches new shapes and new extremes, even small ones, but is
blind to a large swing that has happened before; the deviation from a long trailing window
(``_zscore``) catches large swings, but fires on every point of a drifting series. Their mean is
high only when both agree somewhat, or one of them is extreme. Neither knows the time of day, so
the seasonal baseline (``_seasonal``: the error against the same phase of earlier days or weeks,
relative to the stream's own recent record) is taken beside them, and the larger of the two
judgements is the score. On NAB each part alone scores about 40, the mean 51.5 and the whole
59.5 (see docs/watch-detectors.md). A short rest period after a firing (``_refractory``) keeps
one episode to one alarm.
"""

from __future__ import annotations

import math
from typing import ClassVar

from finpilot.watch._detect._contextual import ContextualDetector
from finpilot.watch._detect._refractory import Refractory
from finpilot.watch._detect._seasonal import SeasonalDetector
from finpilot.watch._detect._zscore import RollingZ


class EnsembleDetector:
    """max(mean(contextual novelty, clipped long-window z), seasonal), muted briefly after a firing."""

    name: ClassVar[str] = "ensemble"

    def __init__(
        self,
        bins: int = 8,
        depth: int = 3,
        rarity: int = 3,
        window: int = 6400,
        z_full: float = 8.0,
        rest_level: float = 0.55,
        rest: int = 25,
    ) -> None:
        if z_full <= 0.0:
            raise ValueError("z_full must be > 0")
        self._context = ContextualDetector(bins=bins, depth=depth, rarity=rarity)
        self._z = RollingZ(window=window)
        self._seasonal = SeasonalDetector()
        self._z_full = z_full
        self._rest = Refractory(rest_level, rest)
        # The caller scores a point and then learns the same point: the combined score is kept
        # for that one point so the work is not done twice (a memo, not state: it changes no score).
        self._memo: tuple[float, float, float] | None = None

    def _combined(self, t: float, x: float) -> float:
        memo = self._memo
        if memo is not None and memo[0] == t and memo[1] == x:
            return memo[2]
        deviation = min(self._z.z(x) / self._z_full, 1.0)
        combined = max(0.5 * (deviation + self._context.score_one(t, x)), self._seasonal.score_one(t, x))
        self._memo = (t, x, combined)
        return combined

    def score_one(self, t: float, x: float) -> float:
        """The anomaly score of ``x`` at ``t`` in [0, 1]; no state changes."""
        if not math.isfinite(x):
            return 0.0  # a gap or a broken reading is skipped, not scored
        return self._rest.apply(self._combined(t, x))

    def learn_one(self, t: float, x: float) -> None:
        """Advance the rest period on this point's score, then learn the point in every part."""
        if not math.isfinite(x):
            return
        self._rest.update(self._rest.apply(self._combined(t, x)))
        self._memo = None
        self._context.learn_one(t, x)
        self._z.update(x)
        self._seasonal.learn_one(t, x)
