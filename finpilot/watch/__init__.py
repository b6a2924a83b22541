"""Watch: metrics, streaming anomaly detection, forecasting, predictive autoscaling and alerts.

Metrics are scraped in Prometheus' text format into an embedded store (or read from a real
Prometheus); detectors score every point as it arrives; forecasters look ahead; the autoscaler
acts before a surge; alerts reach people and runbooks. Every scaling action, alert and anomaly is
an audit entry under a ``watch.*`` kind.
"""

from finpilot.watch._alerts._duration import duration_seconds
from finpilot.watch._alerts._entries import alert_entry, anomaly_entry
from finpilot.watch._alerts._inhibit import InhibitRule
from finpilot.watch._alerts._loop import AlertLoop
from finpilot.watch._alerts._manager import AlertManager, AlertView, AnyRule, TickReport
from finpilot.watch._alerts._matchers import Matcher as AlertMatcher
from finpilot.watch._alerts._matchers import parse_matcher
from finpilot.watch._alerts._model import Alert, Signal, fingerprint
from finpilot.watch._alerts._routing import Route, routes_from_settings
from finpilot.watch._alerts._rules import AnomalyRule, MetricRule, ProactiveRule, load_rules, parse_rules
from finpilot.watch._alerts._silences import Silence
from finpilot.watch._alerts._sinks._alertmanager import AlertmanagerSink
from finpilot.watch._alerts._sinks._interface import Notification, Sink
from finpilot.watch._alerts._sinks._payload import webhook_payload
from finpilot.watch._alerts._sinks._slack import SlackSink, slack_payload
from finpilot.watch._alerts._sinks._webhook import WebhookSink
from finpilot.watch._alerts._store import AlertStore
from finpilot.watch._detect._cad import CadOseDetector
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
    MetricsUnavailableError,
    NabDataError,
    QueryError,
    ScrapeError,
    ScrapeTargetError,
    SinkDeliveryError,
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
    "Alert",
    "AlertConfigError",
    "AlertLoop",
    "AlertManager",
    "AlertMatcher",
    "AlertStore",
    "AlertView",
    "AlertmanagerSink",
    "Anomaly",
    "AnomalyRule",
    "AnyRule",
    "CadOseDetector",
    "CompactResult",
    "ContextualDetector",
    "Detector",
    "DetectorFactory",
    "EmbeddedQuery",
    "EnsembleDetector",
    "Exposition",
    "ExpositionError",
    "ExpositionSample",
    "FileScore",
    "Forecast",
    "Forecaster",
    "InhibitRule",
    "Matcher",
    "MetricRule",
    "MetricsQuery",
    "MetricsStore",
    "MetricsUnavailableError",
    "NabCorpus",
    "NabDataError",
    "NabFile",
    "NabResult",
    "NabScore",
    "Notification",
    "ProactiveRule",
    "Profile",
    "ProfileScore",
    "PrometheusQuery",
    "QueryError",
    "Route",
    "Sample",
    "ScrapeError",
    "ScrapeReport",
    "ScrapeTarget",
    "ScrapeTargetError",
    "Scraper",
    "SeasonalDetector",
    "Selector",
    "Series",
    "Signal",
    "Silence",
    "Sink",
    "SinkDeliveryError",
    "SlackSink",
    "StoredSeries",
    "TargetHealth",
    "TargetSource",
    "TickReport",
    "TraceError",
    "UnknownDetectorError",
    "WatchError",
    "WatchInputError",
    "WebhookSink",
    "WindowedGaussian",
    "WriteResult",
    "alert_entry",
    "anomaly_entry",
    "configured_targets",
    "detector_names",
    "duration_seconds",
    "fingerprint",
    "finite_points",
    "load_corpus",
    "load_rules",
    "make_detector",
    "metrics_store_path",
    "open_metrics_store",
    "parse_duration",
    "parse_exposition",
    "parse_matcher",
    "parse_rules",
    "parse_selector",
    "probation_rows",
    "prometheus_query_from_settings",
    "read_results",
    "register_detector",
    "routes_from_settings",
    "run_nab",
    "score_corpus",
    "score_results",
    "scraper_for",
    "slack_payload",
    "webhook_payload",
    "write_results",
]
