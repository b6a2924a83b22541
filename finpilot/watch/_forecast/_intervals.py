"""Prediction intervals from the forecaster's own past errors, tracked online per horizon.

Each forecaster remembers what it predicted for the next ``horizon`` steps; when the truth
arrives, the error at every horizon feeds two quantile trackers (lower and upper). A tracker moves
its estimate up by ``rate * tau`` when the error lands above it and down by ``rate * (1 - tau)``
when below, so it settles where a fraction ``tau`` of errors lies below: the quantile, without
storing the errors. ``rate`` follows the size of recent errors, so the interval follows the
series' scale. With ``relative`` the errors are fractions of the forecast, for series (like load)
whose errors grow with their level;
below ``unit`` the width stops shrinking (a forecast near zero would make any error huge).
"""

from __future__ import annotations

from collections import deque

from finpilot.watch._forecast._types import Forecast


class ErrorQuantiles:
    """Online lower and upper quantiles of the h-step forecast errors, h = 1..horizon."""

    def __init__(
        self,
        horizon: int,
        level: float,
        speed: float = 0.05,
        relative: bool = False,
        start: float = 0.0,
        unit: float = 1.0,
        shrink: float = 1.0,
    ) -> None:
        self.horizon = horizon
        self.relative = relative
        self.unit = unit
        self.shrink = shrink
        self.level = level
        self._tau_low = (1.0 - level) / 2.0
        self._tau_high = 1.0 - self._tau_low
        self._speed = speed
        # ``start`` opens the interval before any error is seen (a relative width when relative).
        self._low = [-start] * horizon
        self._high = [start] * horizon
        self._scale = [start] * horizon
        self._pending: deque[list[float]] = deque(maxlen=horizon)
        self.seen = 0

    def remember(self, means: list[float]) -> None:
        """Keep the means just forecast (``means[h-1]`` is the forecast ``h`` steps ahead)."""
        self._pending.appendleft(means)

    def observe(self, y: float) -> None:
        """Score every remembered forecast against the value that has now arrived."""
        for h, means in enumerate(self._pending):
            if h >= len(means):
                continue
            error = y - means[h]
            if self.relative:
                # Load errors grow with the load: track them as a fraction of the forecast.
                error /= max(abs(means[h]), self.unit)
            # An EWMA of the error size sets the step of both trackers (scale-free).
            self._scale[h] += 0.05 * (abs(error) - self._scale[h])
            # Each step also scales with the tracker's own size, so a width learnt earlier (or the
            # starting one) still shrinks when the errors vanish.
            high, low = self._high[h], self._low[h]
            self._high[h] += (
                self._speed * (self._scale[h] + self.shrink * abs(high)) * (self._tau_high - (error < high))
            )
            self._low[h] += self._speed * (self._scale[h] + self.shrink * abs(low)) * (self._tau_low - (error < low))
        self.seen += 1

    def bounds(self, means: list[float]) -> tuple[list[float], list[float]]:
        """The lower and upper bounds around ``means``."""
        last = self.horizon - 1
        if self.relative:
            lower = [m + min(0.0, self._low[min(h, last)]) * max(abs(m), self.unit) for h, m in enumerate(means)]
            upper = [m + max(0.0, self._high[min(h, last)]) * max(abs(m), self.unit) for h, m in enumerate(means)]
        else:
            lower = [m + min(0.0, self._low[min(h, last)]) for h, m in enumerate(means)]
            upper = [m + max(0.0, self._high[min(h, last)]) for h, m in enumerate(means)]
        return lower, upper

    def forecast(self, means: list[float], *, last_t: float, step_s: float, floor: float, model: str) -> Forecast:
        """``means`` for the steps after ``last_t`` with this forecaster's learnt interval, no lower than ``floor``."""
        lower, upper = self.bounds(means)
        return Forecast(
            timestamps=[last_t + (h + 1) * step_s for h in range(len(means))],
            mean=means,
            lower=[max(floor, v) for v in lower],
            upper=upper,
            level=self.level,
            model=model,
        )
