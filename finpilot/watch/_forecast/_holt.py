"""Holt's linear trend (optionally damped), updated online, with error-quantile intervals.

The right tool for short horizons at a fine step: load rarely jumps within a minute, it ramps,
and a level plus a trend follows a ramp one or two steps after it starts. Seasonality matters
little a minute ahead, so this model has none (:class:`SeasonalForecaster` does).
"""

from __future__ import annotations

from finpilot.watch._forecast._intervals import ErrorQuantiles
from finpilot.watch._forecast._types import Forecast


class HoltForecaster:
    """Level + trend exponential smoothing; ``forecast`` gives mean and a ``level`` interval.

    ``alpha`` smooths the level, ``beta`` the trend, ``phi`` damps the trend (1 = not damped);
    ``track`` is the longest horizon whose errors set the intervals (longer ones reuse it).
    Forecasts never go below ``floor`` (load is not negative).
    """

    def __init__(
        self,
        step_s: float,
        alpha: float = 0.7,
        beta: float = 0.4,
        phi: float = 0.98,
        level: float = 0.9,
        track: int = 20,
        floor: float = 0.0,
        relative: bool = False,
        start: float = 0.0,
        unit: float = 1.0,
        shrink: float = 1.0,
    ) -> None:
        self.step_s = step_s
        self.alpha, self.beta, self.phi = alpha, beta, phi
        self.floor = floor
        self._errors = ErrorQuantiles(track, level, relative=relative, start=start, unit=unit, shrink=shrink)
        self._level: float | None = None
        self._trend = 0.0
        self._t = 0.0

    @property
    def name(self) -> str:
        """The model and its settings, for evidence."""
        return f"holt(alpha={self.alpha},beta={self.beta},phi={self.phi},level={self._errors.level})"

    def _means(self, horizon: int) -> list[float]:
        level = self._level if self._level is not None else 0.0
        out: list[float] = []
        damp, acc = 1.0, 0.0
        for _ in range(horizon):
            damp *= self.phi
            acc += damp
            out.append(max(self.floor, level + acc * self._trend))
        return out

    def update(self, t: float, y: float) -> None:
        """Take the value ``y`` observed at ``t`` (one step after the previous one)."""
        self._errors.observe(y)
        if self._level is None:
            self._level = y
        else:
            previous = self._level
            self._level = self.alpha * y + (1 - self.alpha) * (previous + self.phi * self._trend)
            self._trend = self.beta * (self._level - previous) + (1 - self.beta) * self.phi * self._trend
        self._t = t
        self._errors.remember(self._means(self._errors.horizon))

    def forecast(self, horizon: int) -> Forecast:
        """The next ``horizon`` steps after the last observation."""
        return self._errors.forecast(
            self._means(horizon), last_t=self._t, step_s=self.step_s, floor=self.floor, model=self.name
        )
