"""Watch: metrics, streaming anomaly detection, forecasting, predictive autoscaling and alerts.

Metrics are scraped in Prometheus' text format into an embedded store (or read from a real
Prometheus); detectors score every point as it arrives; forecasters look ahead; the autoscaler
acts before a surge; alerts reach people and runbooks. Every scaling action, alert and anomaly is
an audit entry under a ``watch.*`` kind.
"""

from finpilot.watch._detect._contextual import ContextualDetector
from finpilot.watch._detect._contract import Anomaly, Detector
from finpilot.watch._detect._ensemble import EnsembleDetector
from finpilot.watch._detect._seasonal import SeasonalDetector
from finpilot.watch._errors import (
    AlertConfigError,
    ExpositionError,
    NabDataError,
    QueryError,
    ScrapeError,
    TraceError,
    UnknownDetectorError,
    WatchError,
    WatchInputError,
)
from finpilot.watch._forecast._types import Forecast, Forecaster
from finpilot.watch._metrics._types import LOOKBACK_S, Aggregation, MetricsQuery, Sample, Series

__all__ = [
    "LOOKBACK_S",
    "Aggregation",
    "AlertConfigError",
    "Anomaly",
    "ContextualDetector",
    "Detector",
    "EnsembleDetector",
    "ExpositionError",
    "Forecast",
    "Forecaster",
    "MetricsQuery",
    "NabDataError",
    "QueryError",
    "Sample",
    "ScrapeError",
    "SeasonalDetector",
    "Series",
    "TraceError",
    "UnknownDetectorError",
    "WatchError",
    "WatchInputError",
]
