"""Watch: metrics, streaming anomaly detection, forecasting, predictive autoscaling and alerts.

Metrics are scraped in Prometheus' text format into an embedded store (or read from a real
Prometheus); detectors score every point as it arrives; forecasters look ahead; the autoscaler
acts before a surge; alerts reach people and runbooks. Every scaling action, alert and anomaly is
an audit entry under a ``watch.*`` kind.
"""

from finpilot.watch._detect._contextual import ContextualDetector
from finpilot.watch._detect._contract import Anomaly, Detector
from finpilot.watch._detect._ensemble import EnsembleDetector
from finpilot.watch._detect._registry import (
    DEFAULT_DETECTOR,
    DetectorFactory,
    detector_names,
    make_detector,
    register_detector,
)
from finpilot.watch._detect._seasonal import SeasonalDetector
from finpilot.watch._detect._windowed_gaussian import WindowedGaussian
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
from finpilot.watch._nab._results import read_results, write_results
from finpilot.watch._nab._runner import NabResult, run_nab, score_results
from finpilot.watch._nab._scorer import FileScore, NabScore, ProfileScore, probation_rows, score_corpus

__all__ = [
    "DEFAULT_DETECTOR",
    "LOOKBACK_S",
    "PROFILE_NAMES",
    "Aggregation",
    "AlertConfigError",
    "Anomaly",
    "ContextualDetector",
    "Detector",
    "DetectorFactory",
    "EnsembleDetector",
    "ExpositionError",
    "FileScore",
    "Forecast",
    "Forecaster",
    "MetricsQuery",
    "NabCorpus",
    "NabDataError",
    "NabFile",
    "NabResult",
    "NabScore",
    "Profile",
    "ProfileScore",
    "QueryError",
    "Sample",
    "ScrapeError",
    "SeasonalDetector",
    "Series",
    "TraceError",
    "UnknownDetectorError",
    "WatchError",
    "WatchInputError",
    "WindowedGaussian",
    "detector_names",
    "load_corpus",
    "make_detector",
    "probation_rows",
    "read_results",
    "register_detector",
    "run_nab",
    "score_corpus",
    "score_results",
    "write_results",
]
