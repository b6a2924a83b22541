"""The ``watch:`` section of ``finpilot.yaml``: metrics, alerts, live detection and the autoscaler.

Each part has a sub-section of its own (``watch.metrics``, ``watch.alerts``, ``watch.detect``,
``watch.autoscale``). ``watch.prometheus_url`` switches every metrics read (the query layer, the
canary judge, the console's Metrics page) from the embedded store to a real Prometheus.
"""

from __future__ import annotations

from pydantic import Field

from finpilot.core._model import StrictModel
from finpilot.core._settings_watch_alerts import WatchAlertSettings
from finpilot.core._settings_watch_autoscale import WatchAutoscaleSettings
from finpilot.core._settings_watch_detect import WatchDetectSettings
from finpilot.core._settings_watch_metrics import WatchMetricsSettings


class WatchSettings(StrictModel):
    """Watch: where metrics are read from, how they are scraped, alerts and autoscaling."""

    prometheus_url: str | None = Field(
        default=None,
        description=(
            "Base URL of a real Prometheus (e.g. http://prometheus:9090). When set, metrics are read "
            "through its HTTP API instead of the embedded store."
        ),
    )
    metrics: WatchMetricsSettings = Field(
        default_factory=WatchMetricsSettings, description="How metrics are scraped and kept in the embedded store."
    )
    alerts: WatchAlertSettings = Field(
        default_factory=WatchAlertSettings, description="Alert rules, grouping, silences and sinks."
    )
    detect: WatchDetectSettings = Field(
        default_factory=WatchDetectSettings, description="Streaming anomaly detection on live metrics."
    )
    autoscale: WatchAutoscaleSettings = Field(
        default_factory=WatchAutoscaleSettings, description="The predictive autoscaler."
    )
