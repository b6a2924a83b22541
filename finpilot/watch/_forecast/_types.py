"""The forecasting contract shared by the autoscaler, the simulator and proactive alerts."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class Forecast:
    """Predictions at future times with a prediction interval (``lower <= mean <= upper``)."""

    timestamps: Sequence[float]
    mean: Sequence[float]
    lower: Sequence[float]
    upper: Sequence[float]
    level: float
    """The interval's nominal coverage, e.g. 0.9."""
    model: str
    """Which forecaster made it (and its key settings), for audit evidence."""


class Forecaster(Protocol):
    """A short-horizon forecaster of one series, updated online."""

    def update(self, t: float, y: float) -> None:
        """Take one observation (times increase; the caller resamples to a fixed step)."""
        ...

    def forecast(self, horizon: int) -> Forecast:
        """Forecast the next ``horizon`` steps after the last observation."""
        ...
