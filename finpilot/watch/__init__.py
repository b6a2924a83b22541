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
    ScheduleError,
    ScrapeError,
    ScrapeTargetError,
    SinkDeliveryError,
    TraceError,
    UnknownDetectorError,
    WatchError,
    WatchInputError,
)
from finpilot.watch._forecast._choose import FORECASTERS, make_forecaster
from finpilot.watch._forecast._holt import HoltForecaster
from finpilot.watch._forecast._naive import NaiveForecaster
from finpilot.watch._forecast._replay import forecast_trace
from finpilot.watch._forecast._seasonal import SeasonalForecaster
from finpilot.watch._forecast._types import Forecast, Forecaster
from finpilot.watch._live._detection import DetectionRound, LiveDetection
from finpilot.watch._live._service import ServiceCounters, WatchService, watch_service_for
from finpilot.watch._metrics._duration import parse_duration
from finpilot.watch._metrics._exposition import Exposition, ExpositionSample, parse_exposition
from finpilot.watch._metrics._prometheus import PrometheusQuery, prometheus_query_from_settings
from finpilot.watch._metrics._promql import Matcher, Selector, parse_selector
from finpilot.watch._metrics._query import EmbeddedQuery
from finpilot.watch._metrics._read import ReadKind, read_computed
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
from finpilot.watch._scale._autoscaler import PredictiveAutoscaler, ScaleAction, ScaleTarget
from finpilot.watch._scale._hpa import HpaPolicy
from finpilot.watch._scale._loop import AutoscaleLoop
from finpilot.watch._scale._model import CapacityModel
from finpilot.watch._scale._oracle import OraclePolicy, oracle_targets
from finpilot.watch._scale._policy import Observation, Policy
from finpilot.watch._scale._predictive import Decision, PredictivePolicy, PredictiveSettings
from finpilot.watch._scale._schedule import RateSchedule, backfill_counter, counter_samples
from finpilot.watch._scale._sim import PolicyResult, SimReport, read_decisions, simulate, simulate_all, write_decisions
from finpilot.watch._scale._trace import Trace, load_trace

__all__ = [
    "DEFAULT_DETECTOR",
    "FORECASTERS",
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
    "AutoscaleLoop",
    "CadOseDetector",
    "CapacityModel",
    "CompactResult",
    "ContextualDetector",
    "Decision",
    "DetectionRound",
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
    "HoltForecaster",
    "HpaPolicy",
    "InhibitRule",
    "LiveDetection",
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
    "NaiveForecaster",
    "Notification",
    "Observation",
    "OraclePolicy",
    "Policy",
    "PolicyResult",
    "PredictiveAutoscaler",
    "PredictivePolicy",
    "PredictiveSettings",
    "ProactiveRule",
    "Profile",
    "ProfileScore",
    "PrometheusQuery",
    "QueryError",
    "RateSchedule",
    "ReadKind",
    "Route",
    "Sample",
    "ScaleAction",
    "ScaleTarget",
    "ScheduleError",
    "ScrapeError",
    "ScrapeReport",
    "ScrapeTarget",
    "ScrapeTargetError",
    "Scraper",
    "SeasonalDetector",
    "SeasonalForecaster",
    "Selector",
    "Series",
    "ServiceCounters",
    "Signal",
    "Silence",
    "SimReport",
    "Sink",
    "SinkDeliveryError",
    "SlackSink",
    "StoredSeries",
    "TargetHealth",
    "TargetSource",
    "TickReport",
    "Trace",
    "TraceError",
    "UnknownDetectorError",
    "WatchError",
    "WatchInputError",
    "WatchService",
    "WebhookSink",
    "WindowedGaussian",
    "WriteResult",
    "alert_entry",
    "anomaly_entry",
    "backfill_counter",
    "configured_targets",
    "counter_samples",
    "detector_names",
    "duration_seconds",
    "fingerprint",
    "finite_points",
    "forecast_trace",
    "load_corpus",
    "load_rules",
    "load_trace",
    "make_detector",
    "make_forecaster",
    "metrics_store_path",
    "open_metrics_store",
    "oracle_targets",
    "parse_duration",
    "parse_exposition",
    "parse_matcher",
    "parse_rules",
    "parse_selector",
    "probation_rows",
    "prometheus_query_from_settings",
    "read_computed",
    "read_decisions",
    "read_results",
    "register_detector",
    "routes_from_settings",
    "run_nab",
    "score_corpus",
    "score_results",
    "scraper_for",
    "simulate",
    "simulate_all",
    "slack_payload",
    "watch_service_for",
    "webhook_payload",
    "write_decisions",
    "write_results",
]
