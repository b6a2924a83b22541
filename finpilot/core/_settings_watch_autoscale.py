"""The ``watch.autoscale:`` section of ``finpilot.yaml``: the predictive autoscaler."""

from __future__ import annotations

from finpilot.core._model import StrictModel


class WatchAutoscaleSettings(StrictModel):
    """The predictive autoscaler: which services, bounds, cool-downs and the forecaster."""
