"""Operational endpoints: /healthz and /metrics."""

from __future__ import annotations

from console_helpers import MakeToken, TestClient, bearer, sample_entry
from fastapi import FastAPI
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families

from finpilot.audit import Ledger
from finpilot.console import TokenStore, create_app
from finpilot.core import Settings


def _samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def test_healthz(client: TestClient, seeded: list[int]) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json()["status"] == "ok"
    assert response.json()["ledger_size"] == 3


def test_metrics_count_requests_and_report_the_ledger(
    client: TestClient, make_token: MakeToken, seeded: list[int]
) -> None:
    token = make_token("operator")
    client.get("/healthz")
    client.get("/api/v1/audit/entries/1", headers=bearer(token))
    client.post("/api/v1/audit/entries", json=sample_entry(), headers=bearer(token))
    client.get("/api/v1/audit/entries/2", headers={"Authorization": "Bearer nope"})
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    samples = _samples(response.text)

    def requests(method: str, route: str, status: str) -> float:
        labels = (("method", method), ("route", route), ("status", status))
        return samples[("finpilot_console_requests_total", labels)]

    assert requests("GET", "/healthz", "200") == 1
    assert requests("GET", "/api/v1/audit/entries/{index}", "200") == 1
    assert requests("GET", "/api/v1/audit/entries/{index}", "401") == 1
    assert requests("POST", "/api/v1/audit/entries", "201") == 1
    latency = (("method", "GET"), ("route", "/api/v1/audit/entries/{index}"))
    assert samples[("finpilot_console_request_seconds_count", latency)] == 2
    # 3 seeded + 1 appended + its request record.
    assert samples[("finpilot_audit_ledger_size", ())] == 5
    assert samples[("finpilot_audit_checkpoint_size", ())] >= 3
    assert samples[("finpilot_audit_checkpoint_age_seconds", ())] >= 0


def test_each_app_has_its_own_registry(
    app: FastAPI, settings: Settings, ledger: Ledger, tokens: TokenStore, client: TestClient
) -> None:
    other = create_app(settings, ledger, tokens)
    assert other.state.console.metrics.registry is not app.state.console.metrics.registry
    client.get("/healthz")
    assert REGISTRY.get_sample_value("finpilot_audit_ledger_size") is None, "nothing in the global registry"


def test_unmatched_paths_share_one_label(client: TestClient) -> None:
    for i in range(3):
        client.get(f"/nothing/{i}")
    samples = _samples(client.get("/metrics").text)
    labels = (("method", "GET"), ("route", "unmatched"), ("status", "404"))
    assert samples[("finpilot_console_requests_total", labels)] == 3


def test_security_headers(client: TestClient) -> None:
    response = client.get("/healthz")
    csp = response.headers["content-security-policy"]
    assert "default-src 'self'" in csp
    assert "script-src 'self'" in csp
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["cache-control"] == "no-store"
