"""The naive forecast (the last value, flat), the yardstick MASE is measured against."""

from __future__ import annotations

from finpilot.watch._forecast._intervals import ErrorQuantiles
from finpilot.watch._forecast._types import Forecast


class NaiveForecaster:
    """Forecasts the last value for every step ahead, with error-quantile intervals."""

    def __init__(self, step_s: float, level: float = 0.9, track: int = 20) -> None:
        self.step_s = step_s
        self._errors = ErrorQuantiles(track, level)
        self._last = 0.0
        self._t = 0.0

    def update(self, t: float, y: float) -> None:
        """Take the value ``y`` observed at ``t``."""
        self._errors.observe(y)
        self._last, self._t = y, t
        self._errors.remember([y] * self._errors.horizon)

    def forecast(self, horizon: int) -> Forecast:
        """The last value, ``horizon`` times."""
        means = [self._last] * horizon
        lower, upper = self._errors.bounds(means)
        return Forecast(
            timestamps=[self._t + (h + 1) * self.step_s for h in range(horizon)],
            mean=means,
            lower=lower,
            upper=upper,
            level=self._errors.level,
            model=f"naive(level={self._errors.level})",
        )
