"""The forecasting and autoscaling names ``finpilot.watch`` exports exist and are documented."""

from __future__ import annotations

import finpilot.watch as watch

SCALE_NAMES = {
    "CapacityModel",
    "Decision",
    "FORECASTERS",
    "HoltForecaster",
    "HpaPolicy",
    "NaiveForecaster",
    "Observation",
    "OraclePolicy",
    "Policy",
    "PolicyResult",
    "PredictiveAutoscaler",
    "PredictivePolicy",
    "PredictiveSettings",
    "ScaleAction",
    "ScaleTarget",
    "SeasonalForecaster",
    "SimReport",
    "Trace",
    "forecast_trace",
    "load_trace",
    "make_forecaster",
    "oracle_targets",
    "read_decisions",
    "simulate",
    "simulate_all",
    "write_decisions",
}


def test_the_scale_names_are_exported_and_documented() -> None:
    assert set(watch.__all__) >= SCALE_NAMES
    for name in SCALE_NAMES:
        value = getattr(watch, name)
        if name != "FORECASTERS":
            assert (value.__doc__ or "").strip(), f"{name} has no docstring"
