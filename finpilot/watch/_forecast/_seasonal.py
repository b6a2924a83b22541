"""Seasonal naive plus a smoothed level correction, with error-quantile intervals.

Load repeats by the day and the week. The forecast for a future step is what happened one season
earlier, shifted by how far the recent past has drifted from its own season (an EWMA of
``y - y[season ago]``). Daily and weekly seasons and, with ``naive``, the last value itself are
all tried online and the one with the smallest recent one-step error is used, so a series with no
weekly pattern is not forced into one, and a series with no season at all gets the naive forecast
(which ``bench_forecast`` found hard to beat on unseasonal NAB series).
"""

from __future__ import annotations

from collections import deque

from finpilot.watch._forecast._intervals import ErrorQuantiles
from finpilot.watch._forecast._types import Forecast

DAY_S = 86_400.0
WEEK_S = 7 * DAY_S


class SeasonalForecaster:
    """Seasonal naive (daily, weekly) with an EWMA drift, or plain naive, whichever is doing best.

    ``step_s`` is the series' step; a season must hold a whole number of steps. Until a full
    season is seen it falls back to the last value plus drift.
    """

    def __init__(
        self,
        step_s: float,
        seasons_s: tuple[float, ...] = (DAY_S, WEEK_S),
        alpha: float = 0.3,
        level: float = 0.9,
        track: int = 20,
        floor: float = 0.0,
        naive: bool = True,
    ) -> None:
        self.step_s = step_s
        self.alpha = alpha
        self.floor = floor
        seasonal = [round(s / step_s) for s in seasons_s if round(s / step_s) >= 2]
        # Period 1 is the naive forecast (the last value, no drift).
        self._periods = ([1] if naive else []) + seasonal
        longest = max(self._periods, default=1)
        self._history: deque[float] = deque(maxlen=longest + 1)
        self._drift = [0.0] * len(self._periods)
        self._score = [0.0] * len(self._periods)
        self._errors = ErrorQuantiles(track, level)
        self._t = 0.0

    @property
    def name(self) -> str:
        """The model and its settings, for evidence."""
        periods = ",".join(str(p) for p in self._periods)
        return f"seasonal(periods={periods},alpha={self.alpha},level={self._errors.level})"

    def _best(self) -> int | None:
        ready = [i for i, p in enumerate(self._periods) if len(self._history) > p]
        if not ready:
            return None
        return min(ready, key=lambda i: self._score[i])

    def _means(self, horizon: int) -> list[float]:
        if not self._history:
            return [0.0] * horizon
        best = self._best()
        if best is None:
            return [max(self.floor, self._history[-1])] * horizon
        period, drift = self._periods[best], self._drift[best]
        n = len(self._history)
        out: list[float] = []
        for h in range(1, horizon + 1):
            # One season before the target step, wrapping into the forecast itself for h > period.
            back = n - 1 - period + ((h - 1) % period) + 1
            out.append(max(self.floor, self._history[back] + drift))
        return out

    def update(self, t: float, y: float) -> None:
        """Take the value ``y`` observed at ``t`` (one step after the previous one)."""
        self._errors.observe(y)
        n = len(self._history)
        for i, period in enumerate(self._periods):
            if n >= period:
                past = self._history[n - period]
                # Score each season by its recent one-step error, before its drift learns y.
                self._score[i] += 0.05 * (abs(y - (past + self._drift[i])) - self._score[i])
                if period > 1:
                    self._drift[i] += self.alpha * ((y - past) - self._drift[i])
        self._history.append(y)
        self._t = t
        self._errors.remember(self._means(self._errors.horizon))

    def forecast(self, horizon: int) -> Forecast:
        """The next ``horizon`` steps after the last observation."""
        return self._errors.forecast(
            self._means(horizon), last_t=self._t, step_s=self.step_s, floor=self.floor, model=self.name
        )
