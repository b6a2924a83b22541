"""Every console route, called for real, answers what ``/openapi.json`` says it answers.

One walk through the whole API (audit, tokens, fraud, incidents, runtime, operations), each
answer validated against the response schema the app's own OpenAPI document gives for that
route and status. The walk must reach every route in the document: a new route without a
call here fails the test.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from console_helpers import MakeToken, TestClient, bearer, sample_entry
from openapi_helpers import OpenApiCheck

from finpilot.audit import Ledger
from finpilot.audit.kinds import CHAOS_INJECT, HEAL_RECOVERED
from finpilot.console import TokenStore, create_app
from finpilot.core import FraudSettings, Settings
from finpilot.deliver import RolloutConfig, RolloutRecord, RolloutStore, load_pipeline, run_pipeline, store_path
from finpilot.watch import AlertManager, EmbeddedQuery, MetricsStore, parse_rules

PAYMENT = {
    "transaction_id": "tx-openapi",
    "time": "2020-09-13T12:26:40Z",
    "customer_id": "cust-openapi",
    "terminal_id": "term-4",
    "amount": 25.5,
}


@pytest.fixture
def full(settings: Settings, tiny_fraud_model: Path, ledger: Ledger, tokens: TokenStore) -> Iterator[TestClient]:
    """A console with a fraud model, so that every route can answer 2xx."""
    model_settings = settings.model_copy(update={"fraud": FraudSettings(model_dir=tiny_fraud_model)})
    store = MetricsStore(settings.data_dir / "metrics.db")
    store.write([("up", (("job", "a"),), 1.0, None)])
    # A real alert manager with one firing alert, so that the alert routes answer real data.
    alerts = AlertManager.from_settings(model_settings, record=ledger.append, with_sinks=False)
    rule = parse_rules("rules:\n  - alert: Up\n    query: {selector: up}\n    threshold: 0\n")
    alerts.evaluate(rule, EmbeddedQuery(store))
    app = create_app(model_settings, ledger, tokens, metrics_query=EmbeddedQuery(store), alerts=alerts)
    with TestClient(app, base_url="http://testserver") as client:
        yield client
    alerts.close()
    store.close()


def _incident(ledger: Ledger) -> None:
    # A fault and its recovery, as the runtime writes them, so the incidents answer is not empty.
    ledger.append(
        CHAOS_INJECT.entry(actor="cli:test", action="kill", subject="replica:web/0", outcome="injected",
                           evidence={"fault": "kill", "instance": "web/0@n1", "pid": 1})
    )  # fmt: skip
    ledger.append(
        HEAL_RECOVERED.entry(actor="finpilot:controller", action="ready", subject="replica:web/0@n1", outcome="ok",
                             evidence={"slot": "web/0", "instance": "web/0@n1", "node": "n1", "cause": "heal.restart",
                                       "cause_action": "restart", "since_cause_s": 0.4})
    )  # fmt: skip


def _pipeline_run(data_dir: Path, where: Path) -> str:
    # One finished run of a one-step pipeline in the console's data directory.
    path = where / "pipeline.yaml"
    path.write_text("pipeline:\n  name: walk\n  steps:\n    a: {type: run, command: 'echo hi'}\n")
    return run_pipeline(load_pipeline(path), data_dir=data_dir).id


def _rollout(data_dir: Path) -> None:
    # A rollout as its loop stores it, so the rollout routes can answer 2xx.
    store = RolloutStore(store_path(data_dir))
    store.save(
        RolloutRecord(id="r-openapi", service="payments", release="r-openapi", env={}, stable_env={}, stable_replicas=2,
                      config=RolloutConfig(), created_at=1.0, updated_at=1.0, phase_since=1.0)
    )  # fmt: skip


def test_every_route_answers_its_documented_schema(
    full: TestClient, make_token: MakeToken, ledger: Ledger, settings: Settings, tmp_path: Path
) -> None:
    check = OpenApiCheck(check_document := full.get("/openapi.json").json())
    assert check_document["openapi"].startswith("3.")
    admin = bearer(make_token("admin"))
    reader = bearer(make_token("viewer"))

    check(full.get("/healthz"))
    check(full.get("/metrics"))

    # audit
    one = check(full.post("/api/v1/audit/entries", json=sample_entry(), headers=admin)).json()
    check(full.post("/api/v1/audit/entries", json={"entries": [sample_entry(), sample_entry()]}, headers=admin))
    check(full.post("/api/v1/audit/entries", json={"kind": "x"}, headers=admin))  # 422, names the field
    check(full.post("/api/v1/audit/entries", content=b"{", headers={**admin, "Content-Type": "application/json"}))
    _incident(ledger)
    check(full.get("/api/v1/audit/entries", params={"limit": 5}, headers=reader))
    check(full.get(f"/api/v1/audit/entries/{one['index']}", headers=reader))
    check(full.get("/api/v1/audit/entries/999999", headers=reader))  # 404
    check(full.get("/api/v1/audit/checkpoints/latest", headers=reader))  # 404 before the first
    check(full.post("/api/v1/audit/checkpoints", headers=admin))
    check(full.get("/api/v1/audit/checkpoints", headers=reader))
    check(full.get("/api/v1/audit/checkpoints/latest", headers=reader))
    check(full.get(f"/api/v1/audit/proofs/inclusion/{one['index']}", headers=reader))
    check(full.get("/api/v1/audit/proofs/consistency", params={"old": 1}, headers=reader))
    check(full.post("/api/v1/audit/verify", headers=admin))
    check(full.get("/api/v1/audit/export", headers=admin))
    check(full.get("/api/v1/audit/public-key", headers=reader))
    check(full.post("/api/v1/audit/erasures", json={"data_subject": "customer:1"}, headers=admin))

    # tokens
    check(full.get("/api/v1/tokens", headers=admin))
    created = check(full.post("/api/v1/tokens", json={"name": "ci", "role": "operator"}, headers=admin)).json()
    check(full.post("/api/v1/tokens", json={"name": "ci", "role": "admin"}, headers=reader))  # 403
    check(full.delete(f"/api/v1/tokens/{created['id']}", headers=admin))
    check(full.get("/api/v1/tokens"))  # 401

    # fraud
    scored = check(full.post("/api/v1/fraud/scores", json=PAYMENT, headers=admin))
    assert scored.json()["decision"] in {"approve", "review", "decline", "freeze_account"}
    check(full.post("/api/v1/fraud/scores", json={**PAYMENT, "amount": -1}, headers=admin))  # 422
    label = {"transaction_id": PAYMENT["transaction_id"], "fraud": True, "source": "analyst"}
    check(full.post("/api/v1/fraud/labels", json=label, headers=admin))
    check(full.post("/api/v1/fraud/accounts/cust-openapi/unfreeze", json={}, headers=admin))  # 404: not frozen
    check(full.post("/api/v1/fraud/accounts/cust-openapi/freeze", json={"reason": "test"}, headers=admin))
    check(full.post("/api/v1/fraud/accounts/cust-openapi/unfreeze", json={}, headers=admin))
    check(full.get("/api/v1/fraud/summary", headers=reader))

    # incidents and runtime (no runtime runs for this data directory: an answer, not an error)
    incidents = check(full.get("/api/v1/incidents", headers=reader)).json()
    assert incidents["incidents"], "the walk wrote a fault and its recovery"
    assert check(full.get("/api/v1/runtime/status", headers=reader)).json()["running"] is False

    # canary analysis (no samples in this data directory: 404; tests/deliver/judge/ walks the 200s and 409s)
    check(full.get("/api/v1/analysis/argo", params={"rollout": "payments"}, headers=reader))
    flagger = {"name": "payments", "namespace": "prod", "metadata": {}}
    check(full.post("/api/v1/analysis/flagger/confirm-promotion", json=flagger, headers=reader))
    # pipelines (runs are read from the data directory that `finpilot pipeline run` writes)
    run_id = _pipeline_run(settings.data_dir, tmp_path)
    check(full.get("/api/v1/pipelines/runs", headers=reader))
    check(full.get(f"/api/v1/pipelines/runs/{run_id}", headers=reader))
    check(full.get(f"/api/v1/pipelines/runs/{run_id}/steps/a/log", headers=reader))
    check(full.get("/api/v1/pipelines/runs/20260101T000000Z-00000000", headers=reader))  # 404
    # rollouts
    _rollout(settings.data_dir)
    check(full.get("/api/v1/rollouts", headers=reader))
    check(full.get("/api/v1/rollouts/r-openapi", headers=reader))
    for action in ("pause", "resume", "promote", "abort"):
        check(full.post(f"/api/v1/rollouts/r-openapi/{action}", json={}, headers=admin))

    # watch
    check(full.get("/api/v1/watch/query", params={"selector": "up"}, headers=reader))
    check(full.get("/api/v1/watch/query", params={"selector": "up{"}, headers=reader))  # 422
    firing = check(full.get("/api/v1/watch/alerts", headers=reader)).json()["alerts"]
    assert [a["labels"]["alertname"] for a in firing] == ["Up"]
    silence = {"matchers": ["alertname=Up"], "duration_s": 600, "comment": "openapi walk"}
    check(full.post("/api/v1/watch/silences", json=silence, headers=reader))  # 403
    check(full.post("/api/v1/watch/silences", json={**silence, "matchers": ["Up"]}, headers=admin))  # 422
    set_id = check(full.post("/api/v1/watch/silences", json=silence, headers=admin)).json()["silence"]["id"]
    check(full.get("/api/v1/watch/silences", headers=reader))
    check(full.post(f"/api/v1/watch/silences/{set_id}/expire", json={}, headers=admin))
    check(full.post("/api/v1/watch/silences/0000/expire", json={}, headers=admin))  # 404
    check(full.get("/api/v1/watch/notifications", params={"limit": 5}, headers=reader))

    assert check.unexercised() == set(), "every route of the console is called above"
    statuses = {status for _, _, status in check.seen}
    assert {200, 201, 202, 204, 400, 401, 403, 404, 422} <= statuses


def test_no_model_is_503_with_the_one_error_body(client: TestClient, make_token: MakeToken) -> None:
    check = OpenApiCheck(client.get("/openapi.json").json())
    answer = check(client.post("/api/v1/fraud/scores", json=PAYMENT, headers=bearer(make_token("admin"))))
    assert answer.status_code == 503
    assert answer.json()["error"] == "UnavailableError"
    assert answer.json()["field"] == "fraud.model_dir"


def _document(client: TestClient) -> dict[str, Any]:
    document: dict[str, Any] = client.get("/openapi.json").json()
    return document


def test_a_plain_text_route_documents_its_errors_as_json(client: TestClient) -> None:
    answer = client.get("/api/v1/audit/public-key")
    assert answer.status_code == 401
    assert answer.headers["content-type"] == "application/json"
    documented = _document(client)["paths"]["/api/v1/audit/public-key"]["get"]["responses"]
    assert set(documented["401"]["content"]) == {"application/json"}
    assert set(documented["200"]["content"]) == {"text/plain"}


def test_enforced_minimum_lengths_are_declared(client: TestClient) -> None:
    paths = _document(client)["paths"]

    def body(path: str) -> dict[str, Any]:
        schema: dict[str, Any] = paths[path]["post"]["requestBody"]["content"]["application/json"]["schema"]
        return schema

    for name in ("transaction_id", "customer_id", "terminal_id"):
        assert body("/api/v1/fraud/scores")["properties"][name]["minLength"] == 1, name
    assert body("/api/v1/fraud/labels")["properties"]["transaction_id"]["minLength"] == 1
    assert body("/api/v1/audit/erasures")["properties"]["data_subject"]["minLength"] == 1
    assert body("/api/v1/tokens")["properties"]["name"]["minLength"] == 1
    entry = body("/api/v1/audit/entries")["oneOf"][0]
    assert all(entry["properties"][name]["minLength"] == 1 for name in entry["required"])


@pytest.mark.parametrize("action", ["freeze", "unfreeze"])
def test_freeze_and_unfreeze_document_their_body(client: TestClient, action: str) -> None:
    operation = _document(client)["paths"][f"/api/v1/fraud/accounts/{{customer_id}}/{action}"]["post"]
    body = operation["requestBody"]
    assert body["required"] is True
    schema = body["content"]["application/json"]["schema"]
    assert set(schema["properties"]) == {"reason"}
    assert schema["additionalProperties"] is False


def test_a_405_names_the_allowed_methods(client: TestClient) -> None:
    for path, item in _document(client)["paths"].items():
        if "{" in path:
            continue
        allowed = {method.upper() for method in item}
        wrong = next(m for m in ("PATCH", "PUT", "DELETE", "POST") if m not in allowed)
        answer = client.request(wrong, path)
        assert answer.status_code == 405, (wrong, path, answer.status_code)
        assert allowed <= {m.strip() for m in answer.headers["allow"].split(",")}, (path, answer.headers)
