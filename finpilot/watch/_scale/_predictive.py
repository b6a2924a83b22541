"""The predictive policy: ask for replicas one start-up ahead of the forecast, react when wrong.

At each step it feeds the newest metric to a forecaster and asks for enough replicas to serve the
upper bound of the forecast from now until a replica asked for now is ready (the start-up delay
plus the scrape delay). The upper bound is the forecast's prediction interval, learnt from its own
errors, so the margin grows when the load is jumpy and shrinks when it is smooth. A reactive
floor (the HPA formula aimed at full use, ``ceil(load / per-replica)``) catches a forecast that is
too low. Scale-down waits for a short stabilisation window (``down_window_s``) and for a cool-down
after the last scale-up, and goes to ``min_replicas`` when the service is idle.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from finpilot.watch._forecast._holt import HoltForecaster
from finpilot.watch._forecast._seasonal import SeasonalForecaster
from finpilot.watch._forecast._types import Forecast, Forecaster
from finpilot.watch._scale._model import CapacityModel
from finpilot.watch._scale._policy import Observation

Reason = Literal["predictive", "reactive", "idle", "bounds", "hold"]
"""Why a decision is what it is."""


_TRACK_STEPS = 64
"""Horizon steps whose errors the seasonal forecaster tracks (more than any live horizon)."""


@dataclass(frozen=True)
class PredictiveSettings:
    """The predictive policy's knobs (one configuration for every trace)."""

    alpha: float = 0.9
    """Holt level smoothing of the default forecaster."""
    beta: float = 0.8
    """Holt trend smoothing of the default forecaster (higher follows a new ramp sooner)."""
    level: float = 0.98
    """Nominal coverage of the forecast interval whose upper bound is provisioned."""
    extra_lead_s: float = 15.0
    """Look this far beyond the start-up delay and the scrape delay."""
    down_window_s: float = 180.0
    """Scale down only to the highest target of this window (stabilisation)."""
    up_cooldown_s: float = 60.0
    """No scale-down for this long after a scale-up."""
    idle_rps: float = 0.0
    """At or below this load the service is idle and goes to ``min_replicas``."""
    relative_errors: bool = True
    """Learn the interval from errors as fractions of the load (else in req/s)."""
    start_margin: float = 0.05
    """The interval's width (a fraction of the load) before any error is seen."""
    shrink: float = 0.2
    """How fast a learnt interval narrows when errors vanish (see ``ErrorQuantiles``)."""
    min_margin: float = 0.08
    """The margin over the forecast mean is at least this fraction of it: on a very smooth load
    the learnt interval shrinks to nothing, and the rare change of slope then finds no room."""
    max_margin: float = 0.3
    """The margin over the forecast mean is at most this fraction of it (at least one replica's
    rate): on load that is noise, an interval wide enough to cover it costs more than it saves."""
    season_s: float | None = None
    """The load's daily period: when set, the forecaster is the seasonal one (what happened one
    season ago plus a drift), which sees a daily surge coming; Holt only follows a ramp it is on."""

    def as_dict(self) -> dict[str, float | bool]:
        """The settings, for JSON output and audit evidence."""
        return {
            "alpha": self.alpha,
            "beta": self.beta,
            "level": self.level,
            "extra_lead_s": self.extra_lead_s,
            "down_window_s": self.down_window_s,
            "up_cooldown_s": self.up_cooldown_s,
            "idle_rps": self.idle_rps,
            "relative_errors": self.relative_errors,
            "min_margin": self.min_margin,
            "max_margin": self.max_margin,
            "shrink": self.shrink,
            "start_margin": self.start_margin,
            "season_s": self.season_s if self.season_s is not None else 0.0,
        }


def default_forecaster(step_s: float, settings: PredictiveSettings, unit: float) -> Forecaster:
    """The forecaster the policy uses unless told otherwise (chosen by bench_forecast).

    With relative errors the interval is a fraction of the load (at least one replica's rate).
    With ``season_s`` it is the seasonal forecaster over that one season (no naive fallback: a
    surge is exactly where the last value is wrong), its interval learnt in load units.
    """
    if settings.season_s is not None:
        # The error trackers must cover the whole horizon the policy asks for.
        return SeasonalForecaster(
            step_s, seasons_s=(settings.season_s,), level=settings.level, track=_TRACK_STEPS, naive=False
        )
    if settings.relative_errors:
        return HoltForecaster(
            step_s,
            settings.alpha,
            settings.beta,
            level=settings.level,
            track=8,
            relative=True,
            start=settings.start_margin,
            unit=unit,
            shrink=settings.shrink,
        )
    return HoltForecaster(step_s, settings.alpha, settings.beta, level=settings.level, track=8, start=unit)


@dataclass(frozen=True)
class Decision:
    """One decision with what it rests on (the evidence of a scaling action)."""

    target: int
    reason: Reason
    forecast: Forecast
    horizon: int
    observed: float


class PredictivePolicy:
    """Forecast-driven scaling with a reactive floor, cool-downs and idle scale-down."""

    name = "predictive"

    def __init__(
        self,
        model: CapacityModel,
        settings: PredictiveSettings | None = None,
        forecaster: Callable[[float, PredictiveSettings, float], Forecaster] = default_forecaster,
    ) -> None:
        self.model = model
        self.settings = settings or PredictiveSettings()
        s = self.settings
        self.forecaster = forecaster(model.step_s, s, model.per_replica)
        self.forecaster_name = self.forecaster.forecast(1).model
        # Steps from the newest observation (one scrape old) to when a replica asked for now is ready.
        self.horizon = 1 + model.startup_steps + math.ceil(s.extra_lead_s / model.step_s)
        self._wanted: deque[int] = deque(maxlen=max(1, math.ceil(s.down_window_s / model.step_s)))
        self._cooldown = math.ceil(s.up_cooldown_s / model.step_s)
        self._last_up = -(10**9)
        self.last: Decision | None = None

    def plan(self, seen: Observation) -> Decision:
        """Update the forecaster with the observation and decide, with the reasons."""
        m = self.model
        self.forecaster.update(seen.time - m.step_s, seen.demand)
        forecast = self.forecaster.forecast(self.horizon)
        low, cap = self.settings.min_margin, self.settings.max_margin
        pairs = zip(forecast.mean, forecast.upper, strict=True)
        provision = max(min(max(hi, mean * (1 + low)), mean + cap * max(mean, m.per_replica)) for mean, hi in pairs)
        predicted = m.needed(provision)
        reactive = m.needed(seen.demand)
        reason_t: Reason = "predictive" if predicted >= reactive else "reactive"
        wanted = max(predicted, reactive)
        if seen.demand <= self.settings.idle_rps and max(forecast.mean) <= self.settings.idle_rps:
            wanted, reason_t = m.min_replicas, "idle"
        self._wanted.append(wanted)
        target = wanted
        if wanted < seen.total and reason_t != "idle":
            # Scale down only to what the whole window wanted, and not right after a scale-up.
            target = min(seen.total, max(self._wanted))
            if seen.step - self._last_up < self._cooldown:
                target = seen.total
            if target == seen.total:
                reason_t = "hold"
        clamped = m.clamp(target)
        if clamped != target:
            reason_t = "bounds"
        if clamped > seen.total:
            self._last_up = seen.step
        decision = Decision(clamped, reason_t, forecast, self.horizon, seen.demand)
        self.last = decision
        return decision

    def decide(self, seen: Observation) -> int:
        """The replicas wanted from this step on."""
        return self.plan(seen).target
