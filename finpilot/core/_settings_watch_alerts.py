"""The ``watch.alerts:`` section of ``finpilot.yaml``: alert rules, routing, silences and sinks."""

from __future__ import annotations

from finpilot.core._model import StrictModel


class WatchAlertSettings(StrictModel):
    """Alert rules, grouping, inhibition and where alerts are sent."""
