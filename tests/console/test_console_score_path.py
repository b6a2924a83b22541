"""``POST /api/v1/fraud/scores`` on its lean path: one audit entry per scored call, and the same answers as any route.

The decision entry records the call (actor, token id, client, route), so the request audit skips
its generic entry for that route only, and only when the handler really wrote one.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from console_helpers import MakeToken, TestClient, bearer, console_entries, refusals
from prometheus_client.parser import text_string_to_metric_families
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from finpilot.audit import Ledger
from finpilot.console import TokenStore, create_app
from finpilot.console._auth import remember_principal
from finpilot.console._request_audit import SELF_AUDITING, RequestAuditMiddleware, mark_self_audited
from finpilot.console._tokens import Principal
from finpilot.core import FraudSettings, Settings


def payment(tx: str = "tx1", **overrides: Any) -> dict[str, Any]:
    """A valid score body."""
    body: dict[str, Any] = {
        "transaction_id": tx,
        "time": "2020-09-13T12:26:40Z",
        "customer_id": "cust-9",
        "terminal_id": "term-4",
        "amount": 25.5,
    }
    body.update(overrides)
    return body


@pytest.fixture
def scoring(settings: Settings, ledger: Ledger, tokens: TokenStore, tiny_fraud_model: Path) -> Iterator[TestClient]:
    """A console with the tiny fraud model."""
    with_model = settings.model_copy(update={"fraud": FraudSettings(model_dir=tiny_fraud_model)})
    with TestClient(create_app(with_model, ledger, tokens), base_url="http://testserver") as test_client:
        yield test_client


def kinds(ledger: Ledger) -> list[str]:
    """The kind of every entry, oldest first."""
    return [e.fields["kind"] for e in reversed(ledger.tail(ledger.size))] if ledger.size else []


def test_one_entry_per_scored_call_naming_the_caller(
    scoring: TestClient, make_token: MakeToken, ledger: Ledger
) -> None:
    token = make_token("operator", "payments-svc")
    for i in range(3):
        assert scoring.post("/api/v1/fraud/scores", json=payment(f"tx{i}"), headers=bearer(token)).status_code == 200
    assert kinds(ledger) == ["fraud.decision"] * 3
    for fields in console_entries(ledger, "fraud.decision"):
        assert fields["actor"] == "token:payments-svc"
        assert fields["evidence"]["caller"] == {
            "token_id": token.split("_")[1],
            "client": "testclient",
            "request": "POST /api/v1/fraud/scores",
        }


def test_a_repeated_call_writes_no_decision_so_it_gets_a_request_entry(
    scoring: TestClient, make_token: MakeToken, ledger: Ledger
) -> None:
    token = make_token("operator")
    first = scoring.post("/api/v1/fraud/scores", json=payment(), headers=bearer(token))
    again = scoring.post("/api/v1/fraud/scores", json=payment(), headers=bearer(token))
    assert first.status_code == again.status_code == 200
    assert again.json() == first.json(), "a retry gets the first decision"
    assert kinds(ledger) == ["fraud.decision", "console.request"]
    request = console_entries(ledger)[0]
    assert (request["actor"], request["action"], request["outcome"]) == (
        "token:operator-user",
        "POST /api/v1/fraud/scores",
        "200",
    )


def test_refusals_and_conflicts_on_the_score_route(scoring: TestClient, make_token: MakeToken, ledger: Ledger) -> None:
    operator = make_token("operator")
    assert scoring.post("/api/v1/fraud/scores", json=payment(), headers=bearer(make_token("viewer"))).status_code == 403
    assert (
        scoring.post("/api/v1/fraud/scores", json=payment(), headers=bearer("fp_0badf00d_" + "a" * 43)).status_code
        == 401
    )
    assert scoring.post("/api/v1/fraud/scores", json=payment(), headers=bearer(operator)).status_code == 200
    clash = scoring.post("/api/v1/fraud/scores", json=payment(amount=99.0), headers=bearer(operator))
    assert (clash.status_code, clash.json()["field"]) == (422, "transaction_id")
    # 403 and 401 are counted in the client's refusal window; the 422 changed nothing and is not.
    assert kinds(ledger) == ["fraud.decision"]
    [summary] = refusals(scoring.app, ledger)
    assert (summary["evidence"]["refused_401"], summary["evidence"]["refused_403"]) == (1, 1)
    assert summary["evidence"]["routes"] == {"POST /api/v1/fraud/scores": 2}


def test_the_lean_path_answers_like_any_route(scoring: TestClient, make_token: MakeToken, ledger: Ledger) -> None:
    token = make_token("operator")
    response = scoring.post("/api/v1/fraud/scores", json=payment(), headers=bearer(token))
    assert response.status_code == 200
    assert response.headers["x-content-type-options"] == "nosniff", "security headers still apply"
    assert response.headers["content-type"] == "application/json"
    not_json = scoring.post(
        "/api/v1/fraud/scores", content=b"{}", headers={**bearer(token), "content-type": "text/plain"}
    )
    assert (not_json.status_code, not_json.json()["field"]) == (400, "Content-Type")
    huge = scoring.post("/api/v1/fraud/scores", json=payment(customer_id="c" * 9000), headers=bearer(token))
    assert huge.status_code == 413
    assert scoring.get("/api/v1/fraud/scores", headers=bearer(token)).status_code == 405
    slash = scoring.post("/api/v1/fraud/scores/", json=payment("tx2"), headers=bearer(token), follow_redirects=False)
    assert slash.status_code == 307, "FastAPI's own routing still handles every other path"
    assert kinds(ledger) == ["fraud.decision", "console.request"], "the redirect is a request like any other"
    assert console_entries(ledger)[0]["outcome"] == "307"
    metrics = {
        (s.name, s.labels.get("route"), s.labels.get("status")): s.value
        for family in text_string_to_metric_families(scoring.get("/metrics").text)
        for s in family.samples
    }
    assert metrics[("finpilot_console_requests_total", "/api/v1/fraud/scores", "200")] == 1
    assert metrics[("finpilot_console_requests_total", "/api/v1/fraud/scores", "413")] == 1
    assert "/api/v1/fraud/scores" in scoring.get("/openapi.json").json()["paths"], "the route is still documented"


def test_revoking_a_token_stops_it_at_once(
    scoring: TestClient, make_token: MakeToken, tokens: TokenStore, ledger: Ledger
) -> None:
    token = make_token("operator")
    admin = make_token("admin")
    assert scoring.post("/api/v1/fraud/scores", json=payment("tx1"), headers=bearer(token)).status_code == 200
    assert tokens.cached(token) is not None, "the check is now answered from memory"
    assert scoring.delete(f"/api/v1/tokens/{token.split('_')[1]}", headers=bearer(admin)).status_code == 204
    refused = scoring.post("/api/v1/fraud/scores", json=payment("tx2"), headers=bearer(token))
    assert refused.status_code == 401
    assert "revoked" in refused.json()["message"]


def _probe_app(ledger: Ledger, path: str) -> Starlette:
    async def handler(request: Request) -> JSONResponse:
        remember_principal(request, Principal(token_id="0a0b0c0d", name="probe", role="operator"))
        mark_self_audited(request.scope, 0)
        return JSONResponse({})

    app = Starlette(routes=[Route(path, handler, methods=["POST"])])
    app.add_middleware(RequestAuditMiddleware, ledger=ledger)
    return app


@pytest.mark.parametrize(("path", "generic_entries"), [("/api/v1/fraud/scores", 0), ("/v1/other", 1)])
def test_only_listed_routes_may_skip_the_request_entry(ledger: Ledger, path: str, generic_entries: int) -> None:
    assert f"POST {path}" in SELF_AUDITING or generic_entries == 1
    with TestClient(_probe_app(ledger, path)) as probe:
        assert probe.post(path).status_code == 200
    assert len(console_entries(ledger)) == generic_entries
