"""Watch: metrics, streaming anomaly detection, forecasting, predictive autoscaling and alerts.

Metrics are scraped in Prometheus' text format into an embedded store (or read from a real
Prometheus); detectors score every point as it arrives; forecasters look ahead; the autoscaler
acts before a surge; alerts reach people and runbooks. Every scaling action, alert and anomaly is
an audit entry under a ``watch.*`` kind.
"""

from finpilot.watch._detect._contract import Anomaly, Detector
from finpilot.watch._errors import (
    AlertConfigError,
    ExpositionError,
    MetricsUnavailableError,
    NabDataError,
    QueryError,
    ScrapeError,
    TraceError,
    UnknownDetectorError,
    WatchError,
    WatchInputError,
)
from finpilot.watch._forecast._types import Forecast, Forecaster
from finpilot.watch._metrics._prometheus import PrometheusQuery, prometheus_query_from_settings
from finpilot.watch._metrics._types import LOOKBACK_S, Aggregation, MetricsQuery, Sample, Series

__all__ = [
    "LOOKBACK_S",
    "Aggregation",
    "AlertConfigError",
    "Anomaly",
    "Detector",
    "ExpositionError",
    "Forecast",
    "Forecaster",
    "MetricsQuery",
    "MetricsUnavailableError",
    "NabDataError",
    "PrometheusQuery",
    "QueryError",
    "Sample",
    "ScrapeError",
    "Series",
    "TraceError",
    "UnknownDetectorError",
    "WatchError",
    "WatchInputError",
    "prometheus_query_from_settings",
]
