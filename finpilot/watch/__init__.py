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
from finpilot.watch._nab._corpus import PROFILE_NAMES, NabCorpus, NabFile, Profile, load_corpus
from finpilot.watch._nab._scorer import FileScore, NabScore, ProfileScore, probation_rows, score_corpus

__all__ = [
    "LOOKBACK_S",
    "PROFILE_NAMES",
    "Aggregation",
    "AlertConfigError",
    "Anomaly",
    "Detector",
    "ExpositionError",
    "FileScore",
    "Forecast",
    "Forecaster",
    "MetricsQuery",
    "NabCorpus",
    "NabDataError",
    "NabFile",
    "NabScore",
    "Profile",
    "ProfileScore",
    "QueryError",
    "Sample",
    "ScrapeError",
    "Series",
    "TraceError",
    "UnknownDetectorError",
    "WatchError",
    "WatchInputError",
    "load_corpus",
    "probation_rows",
    "score_corpus",
]
