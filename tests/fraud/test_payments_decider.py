"""The payments service deciding in-process with the fraud engine: fraud is declined (402) and audited."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from finpilot_payments import CallableDecider, PaymentContext, PaymentsSettings, create_app, open_database
from live_helpers import PAYMENTS_TOKEN, bearer
from starlette.testclient import TestClient

from finpilot.audit import Ledger, open_ledger
from finpilot.core import Settings
from finpilot.fraud import (
    DecisionPolicy,
    FeatureEngine,
    FraudService,
    Scorer,
    Thresholds,
    load_artifact,
    payments_decider,
)

PAN = "4111 1111 1111 1111"


@pytest.fixture
def ledger(tmp_path: Path) -> Iterator[Ledger]:
    """The finpilot audit ledger."""
    with open_ledger(Settings(data_dir=tmp_path / "finpilot")) as opened:
        yield opened


@pytest.fixture
def payments(tmp_path: Path, ledger: Ledger, tiny_fraud_model: Path) -> Iterator[TestClient]:
    """The payments app on SQLite, deciding with the tiny model in-process."""
    scorer = Scorer(FeatureEngine(), load_artifact(tiny_fraud_model))
    service = FraudService(scorer, DecisionPolicy(Thresholds(review=0.5, decline=0.8, freeze=1.5)), ledger)
    # Structural typing: the adapter's answers have the attributes and to_json of the service's Decision.
    decider = CallableDecider(payments_decider(service))  # type: ignore[arg-type]
    settings = PaymentsSettings(data_dir=tmp_path / "payments", bootstrap_token=PAYMENTS_TOKEN)
    database = open_database(settings)
    with TestClient(create_app(settings, database=database, decider=decider), headers=bearer()) as client:
        yield client
    database.close()


def test_a_fraudulent_payment_is_declined_and_the_decision_is_in_the_ledger(
    payments: TestClient, ledger: Ledger
) -> None:
    keys = itertools.count()

    def post(path: str, body: dict[str, Any]) -> Any:
        return payments.post(path, json=body, headers={"Idempotency-Key": f"k{next(keys)}"})

    def account(kind: str) -> str:
        response = post("/v1/accounts", {"kind": kind, "currency": "EUR", "overdraft_limit": 0})
        assert response.status_code == 201, response.text
        return str(response.json()["id"])

    settlement, customer, merchant = account("settlement"), account("customer"), account("merchant")
    funding = {"from_account": settlement, "to_account": customer, "amount": 1_000_000, "currency": "EUR"}
    assert post("/v1/transfers", funding).status_code == 201
    card = post("/v1/cards", {"account_id": customer, "pan": PAN}).json()["token"]

    def authorize(amount: int) -> Any:
        return post(
            "/v1/authorizations", {"card_token": card, "merchant_id": merchant, "amount": amount, "currency": "EUR"}
        )

    for _ in range(5):  # an ordinary history: 30.00 EUR payments, approved
        response = authorize(3_000)
        assert response.status_code == 201, response.text
        assert response.json()["decision"]["action"] == "approve"
    declined = authorize(200_000)  # 2,000.00 EUR out of nowhere
    assert declined.status_code == 402, declined.text
    decision = declined.json()["decision"]
    assert decision["action"] == "decline"
    assert decision["score"] >= 0.8
    entry = ledger.entry(decision["audit_index"]).fields
    assert entry["kind"] == "fraud.decision"
    assert entry["outcome"] == "decline"
    assert entry["subject"] == f"payment:{declined.json()['id']}"
    assert entry["evidence"]["customer_id"] == customer
    assert entry["evidence"]["terminal_id"] == merchant
    assert entry["evidence"]["model_version"] == decision["model_version"]
    decisions = [e for e in ledger.tail(ledger.size) if e.fields["kind"] == "fraud.decision"]
    assert len(decisions) == 6
    assert all(PAN.replace(" ", "") not in e.data.decode() for e in ledger.tail(ledger.size))


def test_the_adapter_reads_only_what_the_context_offers(ledger: Ledger, tiny_fraud_model: Path) -> None:
    service = FraudService(Scorer(FeatureEngine(), load_artifact(tiny_fraud_model)), DecisionPolicy(), ledger)
    context = PaymentContext("auth_1", "acct_1", "acct_2", "tok_1", "1111", 500, "EUR", "2026-01-01T00:00:00+00:00")
    answer = payments_decider(service)(context)
    assert answer.action in {"approve", "review", "decline"}
    assert answer.audit_index == 0
    evidence = ledger.entry(0).fields["evidence"]
    assert (evidence["customer_id"], evidence["terminal_id"], evidence["amount"]) == ("acct_1", "acct_2", 5.0)
    assert set(answer.to_json()) == {"action", "reasons", "score", "model_version", "audit_index"}


def test_the_adapter_scales_by_the_currency_and_declines_a_code_without_a_minor_unit(
    ledger: Ledger, tiny_fraud_model: Path
) -> None:
    service = FraudService(Scorer(FeatureEngine(), load_artifact(tiny_fraud_model)), DecisionPolicy(), ledger)
    decide = payments_decider(service)
    for n, (currency, major) in enumerate([("JPY", 500.0), ("BHD", 0.5), ("EUR", 5.0), ("CLF", 0.05)]):
        context = PaymentContext(
            f"auth_{n}", "acct_1", "acct_2", "tok_1", "1111", 500, currency, "2026-01-01T00:00:00Z"
        )
        answer = decide(context)
        assert ledger.entry(answer.audit_index).fields["evidence"]["amount"] == major, currency  # type: ignore[arg-type]
    size = ledger.size
    for n, currency in enumerate(["XAU", "ABC"]):
        context = PaymentContext(f"bad_{n}", "acct_1", "acct_2", "tok_1", "1111", 500, currency, "2026-01-01T00:00:00Z")
        answer = decide(context)
        assert (answer.action, answer.reasons) == ("decline", ("not scored: 'currency' refused",))
    assert ledger.size == size
