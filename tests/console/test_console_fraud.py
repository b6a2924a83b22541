"""``POST /api/v1/fraud/scores`` and ``/labels``: roles, validation naming the field, audit, and 503 without a model."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from console_helpers import MakeToken, TestClient, bearer, refusals

from finpilot.audit import Ledger
from finpilot.console import TokenStore, create_app
from finpilot.core import FraudSettings, Settings
from finpilot.fraud import MAX_AMOUNT

T0 = 1_600_000_000


def payment(**overrides: Any) -> dict[str, Any]:
    """A valid score body."""
    body: dict[str, Any] = {
        "transaction_id": "tx1",
        "time": "2020-09-13T12:26:40Z",
        "customer_id": "cust-9",
        "terminal_id": "term-4",
        "amount": 25.5,
    }
    body.update(overrides)
    return body


@pytest.fixture
def model_settings(settings: Settings, tiny_fraud_model: Path) -> Settings:
    """The test settings with the tiny model configured."""
    return settings.model_copy(update={"fraud": FraudSettings(model_dir=tiny_fraud_model)})


@pytest.fixture
def scoring(model_settings: Settings, ledger: Ledger, tokens: TokenStore) -> Iterator[TestClient]:
    """A console with a fraud model loaded from settings."""
    with TestClient(create_app(model_settings, ledger, tokens), base_url="http://testserver") as test_client:
        yield test_client


def kinds(ledger: Ledger) -> list[str]:
    """The kind of every entry, oldest first."""
    return [e.fields["kind"] for e in reversed(ledger.tail(ledger.size))] if ledger.size else []


@pytest.mark.parametrize("role", ["operator", "admin"])
def test_operators_score_and_label(role: str, scoring: TestClient, make_token: MakeToken, ledger: Ledger) -> None:
    token = make_token(role)
    response = scoring.post("/api/v1/fraud/scores", json=payment(), headers=bearer(token))
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["decision"] in {"approve", "review", "decline", "freeze_account"}
    assert set(body) >= {"decision", "score", "reasons", "model_version", "audit_index"}
    decision = ledger.entry(body["audit_index"]).fields
    assert (decision["kind"], decision["actor"], decision["subject"], decision["outcome"]) == (
        "fraud.decision",
        f"token:{role}-user",
        "payment:tx1",
        body["decision"],
    )
    caller = decision["evidence"]["caller"]
    assert caller["request"] == "POST /api/v1/fraud/scores"
    assert caller["client"] == "testclient"
    assert caller["token_id"] == token.split("_")[1]
    labelled = scoring.post(
        "/api/v1/fraud/labels",
        json={"transaction_id": "tx1", "fraud": True, "source": "chargeback", "known_at": T0 + 3600},
        headers=bearer(token),
    )
    assert labelled.status_code == 202, labelled.text
    label = ledger.entry(labelled.json()["audit_index"]).fields
    assert (label["kind"], label["actor"], label["outcome"]) == ("fraud.label", f"token:{role}-user", "fraud")
    # The decision entry records the scoring call itself; the label call also gets a request entry.
    assert kinds(ledger) == ["fraud.decision", "fraud.label", "console.request"]


def test_epoch_seconds_are_a_time_too(scoring: TestClient, make_token: MakeToken, ledger: Ledger) -> None:
    response = scoring.post("/api/v1/fraud/scores", json=payment(time=T0), headers=bearer(make_token("operator")))
    assert response.status_code == 200, response.text
    assert ledger.entry(response.json()["audit_index"]).fields["evidence"]["time"] == T0


@pytest.mark.parametrize("role", ["viewer", "auditor"])
def test_other_roles_are_refused_and_the_refusal_is_audited(
    role: str, scoring: TestClient, make_token: MakeToken, ledger: Ledger
) -> None:
    token = make_token(role)
    for path, body in (
        ("/api/v1/fraud/scores", payment()),
        ("/api/v1/fraud/labels", {"transaction_id": "tx1", "fraud": True}),
    ):
        response = scoring.post(path, json=body, headers=bearer(token))
        assert response.status_code == 403, response.text
    assert kinds(ledger) == [], "refusals are counted, not appended one by one"
    [summary] = refusals(scoring.app, ledger)
    assert summary["evidence"]["refused_403"] == 2
    assert summary["evidence"]["routes"] == {"POST /api/v1/fraud/scores": 1, "POST /api/v1/fraud/labels": 1}
    assert summary["evidence"]["actors"] == [f"token:{role}-user"]


def test_strangers_get_401(scoring: TestClient) -> None:
    assert scoring.post("/api/v1/fraud/scores", json=payment()).status_code == 401


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (payment(amount=0), "amount"),
        (payment(amount=-3), "amount"),
        (payment(amount=MAX_AMOUNT), "amount"),
        (payment(amount="12"), "amount"),
        (payment(time="yesterday"), "time"),
        (payment(time="2020-09-13 12:26:40"), "time"),
        (payment(customer_id=""), "customer_id"),
        (payment(terminal_id=None), "terminal_id"),
        (payment(extra=1), "extra"),
        ({k: v for k, v in payment().items() if k != "transaction_id"}, "transaction_id"),
        (payment(customer_id="4111 1111 1111 1111"), "customer_id"),
        ([1, 2], "$"),
    ],
)
def test_bad_scores_are_422_naming_the_field_and_record_nothing(
    body: Any, field: str, scoring: TestClient, make_token: MakeToken, ledger: Ledger
) -> None:
    response = scoring.post("/api/v1/fraud/scores", json=body, headers=bearer(make_token("operator")))
    assert response.status_code == 422, response.text
    assert response.json()["field"] == field
    assert "4111" not in response.text
    assert ledger.size == 0


@pytest.mark.parametrize(
    ("body", "field", "status"),
    [
        ({"transaction_id": "tx1", "fraud": "yes", "source": "analyst"}, "fraud", 422),
        ({"transaction_id": "tx1", "fraud": True, "source": "customer"}, "source", 422),
        ({"transaction_id": "tx1", "fraud": True}, "source", 422),
        ({"transaction_id": "tx1", "fraud": True, "source": "analyst", "known_at": "soon"}, "known_at", 422),
        ({"transaction_id": "tx1", "fraud": True, "source": "analyst", "known_at": T0 - 10}, "known_at", 422),
        ({"transaction_id": "unknown", "fraud": True, "source": "analyst"}, "transaction_id", 404),
    ],
)
def test_bad_labels_name_the_field_and_record_nothing(
    body: dict[str, Any], field: str, status: int, scoring: TestClient, make_token: MakeToken, ledger: Ledger
) -> None:
    token = make_token("operator")
    assert scoring.post("/api/v1/fraud/scores", json=payment(), headers=bearer(token)).status_code == 200
    before = ledger.size
    response = scoring.post("/api/v1/fraud/labels", json=body, headers=bearer(token))
    assert response.status_code == status, response.text
    assert response.json()["field"] == field
    assert ledger.size == before


def test_without_a_model_the_console_runs_and_score_is_503(
    client: TestClient, make_token: MakeToken, ledger: Ledger
) -> None:
    token = make_token("operator")
    assert client.get("/healthz").status_code == 200
    response = client.post("/api/v1/fraud/scores", json=payment(), headers=bearer(token))
    assert response.status_code == 503
    assert "no fraud model loaded" in response.json()["message"]
    assert "finpilot fraud train" in response.json()["message"] + response.json()["fix"]
    assert (
        client.post(
            "/api/v1/fraud/labels",
            json={"transaction_id": "tx1", "fraud": True, "source": "analyst"},
            headers=bearer(token),
        ).status_code
        == 503
    )
    bad = client.post("/api/v1/fraud/scores", json=payment(amount=-1), headers=bearer(token))
    assert (bad.status_code, bad.json()["field"]) == (422, "amount")
    assert ledger.size == 0


def test_a_broken_model_dir_still_starts_and_says_why(
    settings: Settings, ledger: Ledger, tokens: TokenStore, make_token: MakeToken, tmp_path: Path
) -> None:
    broken = settings.model_copy(update={"fraud": FraudSettings(model_dir=tmp_path / "missing")})
    with TestClient(create_app(broken, ledger, tokens), base_url="http://testserver") as test_client:
        response = test_client.post("/api/v1/fraud/scores", json=payment(), headers=bearer(make_token("operator")))
    assert response.status_code == 503
    assert "no fraud model loaded" in response.json()["message"]
    assert "missing" in response.json()["message"]
