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
from finpilot.watch._forecast._choose import FORECASTERS, make_forecaster
from finpilot.watch._forecast._holt import HoltForecaster
from finpilot.watch._forecast._naive import NaiveForecaster
from finpilot.watch._forecast._replay import forecast_trace
from finpilot.watch._forecast._seasonal import SeasonalForecaster
from finpilot.watch._forecast._types import Forecast, Forecaster
from finpilot.watch._metrics._types import LOOKBACK_S, Aggregation, MetricsQuery, Sample, Series
from finpilot.watch._scale._autoscaler import PredictiveAutoscaler, ScaleAction, ScaleTarget
from finpilot.watch._scale._hpa import HpaPolicy
from finpilot.watch._scale._model import CapacityModel
from finpilot.watch._scale._oracle import OraclePolicy, oracle_targets
from finpilot.watch._scale._policy import Observation, Policy
from finpilot.watch._scale._predictive import Decision, PredictivePolicy, PredictiveSettings
from finpilot.watch._scale._sim import PolicyResult, SimReport, read_decisions, simulate, simulate_all, write_decisions
from finpilot.watch._scale._trace import Trace, load_trace

__all__ = [
    "FORECASTERS",
    "LOOKBACK_S",
    "Aggregation",
    "AlertConfigError",
    "Anomaly",
    "CapacityModel",
    "Decision",
    "Detector",
    "ExpositionError",
    "Forecast",
    "Forecaster",
    "HoltForecaster",
    "HpaPolicy",
    "MetricsQuery",
    "NabDataError",
    "NaiveForecaster",
    "Observation",
    "OraclePolicy",
    "Policy",
    "PolicyResult",
    "PredictiveAutoscaler",
    "PredictivePolicy",
    "PredictiveSettings",
    "QueryError",
    "Sample",
    "ScaleAction",
    "ScaleTarget",
    "ScrapeError",
    "SeasonalForecaster",
    "Series",
    "SimReport",
    "Trace",
    "TraceError",
    "UnknownDetectorError",
    "WatchError",
    "WatchInputError",
    "forecast_trace",
    "load_trace",
    "make_forecaster",
    "oracle_targets",
    "read_decisions",
    "simulate",
    "simulate_all",
    "write_decisions",
]
