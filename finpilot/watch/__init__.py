"""Watch: metrics, streaming anomaly detection, forecasting, predictive autoscaling and alerts.

Metrics are scraped in Prometheus' text format into an embedded store (or read from a real
Prometheus); detectors score every point as it arrives; forecasters look ahead; the autoscaler
acts before a surge; alerts reach people and runbooks. Every scaling action, alert and anomaly is
an audit entry under a ``watch.*`` kind.
"""

from finpilot.watch._detect._contract import Anomaly, Detector
from finpilot.watch._detect._registry import (
    DEFAULT_DETECTOR,
    DetectorFactory,
    detector_names,
    make_detector,
    register_detector,
)
from finpilot.watch._detect._windowed_gaussian import WindowedGaussian
from finpilot.watch._errors import (
    AlertConfigError,
    ExpositionError,
    MetricsUnavailableError,
    NabDataError,
    QueryError,
    ScrapeError,
    ScrapeTargetError,
    TraceError,
    UnknownDetectorError,
    WatchError,
    WatchInputError,
)
from finpilot.watch._forecast._types import Forecast, Forecaster
from finpilot.watch._metrics._duration import parse_duration
from finpilot.watch._metrics._exposition import Exposition, ExpositionSample, parse_exposition
from finpilot.watch._metrics._prometheus import PrometheusQuery, prometheus_query_from_settings
from finpilot.watch._metrics._promql import Matcher, Selector, parse_selector
from finpilot.watch._metrics._query import EmbeddedQuery
from finpilot.watch._metrics._scrape import Scraper, ScrapeReport
from finpilot.watch._metrics._setup import (
    STORE_FILE,
    configured_targets,
    metrics_store_path,
    open_metrics_store,
    scraper_for,
)
from finpilot.watch._metrics._store import (
    CompactResult,
    MetricsStore,
    StoredSeries,
    TargetHealth,
    WriteResult,
    finite_points,
)
from finpilot.watch._metrics._target import ScrapeTarget, TargetSource
from finpilot.watch._metrics._types import LOOKBACK_S, Aggregation, MetricsQuery, Sample, Series
from finpilot.watch._nab._corpus import PROFILE_NAMES, NabCorpus, NabFile, Profile, load_corpus
from finpilot.watch._nab._results import read_results, write_results
from finpilot.watch._nab._runner import NabResult, run_nab, score_results
from finpilot.watch._nab._scorer import FileScore, NabScore, ProfileScore, probation_rows, score_corpus

__all__ = [
    "DEFAULT_DETECTOR",
    "LOOKBACK_S",
    "PROFILE_NAMES",
    "STORE_FILE",
    "Aggregation",
    "AlertConfigError",
    "Anomaly",
    "CompactResult",
    "Detector",
    "DetectorFactory",
    "EmbeddedQuery",
    "Exposition",
    "ExpositionError",
    "ExpositionSample",
    "FileScore",
    "Forecast",
    "Forecaster",
    "Matcher",
    "MetricsQuery",
    "MetricsStore",
    "MetricsUnavailableError",
    "NabCorpus",
    "NabDataError",
    "NabFile",
    "NabResult",
    "NabScore",
    "Profile",
    "ProfileScore",
    "PrometheusQuery",
    "QueryError",
    "Sample",
    "ScrapeError",
    "ScrapeReport",
    "ScrapeTarget",
    "ScrapeTargetError",
    "Scraper",
    "Selector",
    "Series",
    "StoredSeries",
    "TargetHealth",
    "TargetSource",
    "TraceError",
    "UnknownDetectorError",
    "WatchError",
    "WatchInputError",
    "WindowedGaussian",
    "WriteResult",
    "configured_targets",
    "detector_names",
    "finite_points",
    "load_corpus",
    "make_detector",
    "metrics_store_path",
    "open_metrics_store",
    "parse_duration",
    "parse_exposition",
    "parse_selector",
    "probation_rows",
    "prometheus_query_from_settings",
    "read_results",
    "register_detector",
    "run_nab",
    "score_corpus",
    "score_results",
    "scraper_for",
    "write_results",
]
