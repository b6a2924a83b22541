"""Forecasters by name, and the default one chosen by ``bench/watch/bench_forecast.py``."""

from __future__ import annotations

from finpilot.watch._errors import WatchInputError
from finpilot.watch._forecast._holt import HoltForecaster
from finpilot.watch._forecast._naive import NaiveForecaster
from finpilot.watch._forecast._seasonal import SeasonalForecaster
from finpilot.watch._forecast._types import Forecaster

FORECASTERS = ("seasonal", "holt", "naive")
"""The forecaster names; the first is the default for native-step load series."""


def make_forecaster(name: str, step_s: float, level: float = 0.9, track: int = 20) -> Forecaster:
    """A fresh forecaster by name (``seasonal``, ``holt`` or ``naive``) for a series sampled every ``step_s``."""
    if not 0 < level < 1:
        raise WatchInputError(f"level {level} is not a coverage in (0, 1)", field="level", fix="use e.g. 0.9")
    if name == "holt":
        return HoltForecaster(step_s, level=level, track=track)
    if name == "naive":
        return NaiveForecaster(step_s, level=level, track=track)
    if name == "seasonal":
        return SeasonalForecaster(step_s, level=level, track=track)
    raise WatchInputError(f"unknown forecaster {name!r}", field="model", fix=f"use one of: {', '.join(FORECASTERS)}")
