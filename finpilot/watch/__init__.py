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
from finpilot.watch._alerts._matchers import Matcher, parse_matcher
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
from finpilot.watch._detect._contract import Anomaly, Detector
from finpilot.watch._errors import (
    AlertConfigError,
    ExpositionError,
    NabDataError,
    QueryError,
    ScrapeError,
    SinkDeliveryError,
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
    "Alert",
    "AlertConfigError",
    "AlertLoop",
    "AlertManager",
    "AlertStore",
    "AlertView",
    "AlertmanagerSink",
    "Anomaly",
    "AnomalyRule",
    "AnyRule",
    "Detector",
    "ExpositionError",
    "Forecast",
    "Forecaster",
    "InhibitRule",
    "Matcher",
    "MetricRule",
    "MetricsQuery",
    "NabDataError",
    "Notification",
    "ProactiveRule",
    "QueryError",
    "Route",
    "Sample",
    "ScrapeError",
    "Series",
    "Signal",
    "Silence",
    "Sink",
    "SinkDeliveryError",
    "SlackSink",
    "TickReport",
    "TraceError",
    "UnknownDetectorError",
    "WatchError",
    "WatchInputError",
    "WebhookSink",
    "alert_entry",
    "anomaly_entry",
    "duration_seconds",
    "fingerprint",
    "load_rules",
    "parse_matcher",
    "parse_rules",
    "routes_from_settings",
    "slack_payload",
    "webhook_payload",
]
