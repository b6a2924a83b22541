"""Alerts: rules on metrics, anomalies and forecasts; grouping, silences, inhibition and sinks."""
