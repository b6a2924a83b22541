"""The conformance suite against a real Prometheus holding the fixed data set."""

from __future__ import annotations

from watch_conformance import check_metrics_query_conformance

from finpilot.watch import PrometheusQuery


def test_a_real_prometheus_answers_the_conformance_data_set_as_promql_does(
    conformance_prometheus: PrometheusQuery,
) -> None:
    check_metrics_query_conformance(conformance_prometheus)
