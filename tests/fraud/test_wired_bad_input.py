"""Acceptance 5 with the fraud engine wired in: a refused payment request never reaches the engine.

The payments service's own bad-input tests (tests/payments/test_payments_bad_input.py,
test_payments_idempotency.py, test_payments_pan.py) and the console's (tests/console/
test_console_fraud.py) cover each side alone. Here the payments service decides in-process
with the fraud engine, and every refusal must leave the payments database, the audit ledger
and the feature state exactly as they were.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from finpilot_payments import CallableDecider, Database, PaymentsSettings, create_app, open_database
from finpilot_payments._db import TABLES, table_rows
from finpilot_payments._ledger import MAX_AMOUNT
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

PAN = "4000 0566 5566 5556"


@pytest.fixture
def wired(tmp_path: Path, tiny_fraud_model: Path) -> Iterator[tuple[TestClient, Database, FraudService]]:
    """The payments app deciding in-process with a fraud service; its database and the service."""
    with open_ledger(Settings(data_dir=tmp_path / "fp")) as ledger:
        fraud = FraudService(
            Scorer(FeatureEngine(), load_artifact(tiny_fraud_model)), DecisionPolicy(Thresholds()), ledger
        )
        settings = PaymentsSettings(data_dir=tmp_path / "payments", bootstrap_token=PAYMENTS_TOKEN)
        database = open_database(settings)
        app = create_app(settings, database=database, decider=CallableDecider(payments_decider(fraud)))  # type: ignore[arg-type]
        with TestClient(app, headers=bearer()) as client:
            yield client, database, fraud
        database.close()


def _state(database: Database, ledger: Ledger, fraud: FraudService) -> tuple[Any, ...]:
    rows = {table: sorted(map(repr, table_rows(database, table))) for table in TABLES}
    return rows, ledger.size, fraud.scorer.engine.entities


def test_refused_payments_change_nothing_anywhere(
    wired: tuple[TestClient, Database, FraudService], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    client, database, fraud = wired
    n = iter(range(1_000))

    def post(path: str, body: dict[str, Any], key: str | None = None) -> Any:
        return client.post(path, json=body, headers={"Idempotency-Key": key or f"k{next(n)}"})

    settlement = post("/v1/accounts", {"kind": "settlement", "currency": "EUR"}).json()["id"]
    customer = post("/v1/accounts", {"kind": "customer", "currency": "EUR"}).json()["id"]
    merchant = post("/v1/accounts", {"kind": "merchant", "currency": "EUR"}).json()["id"]
    post("/v1/transfers", {"from_account": settlement, "to_account": customer, "amount": 50_000, "currency": "EUR"})
    card = post("/v1/cards", {"account_id": customer, "pan": PAN}).json()["token"]
    good = {"card_token": card, "merchant_id": merchant, "amount": 1_500, "currency": "EUR"}
    assert post("/v1/authorizations", good, key="used").status_code in {201, 402}
    before = _state(database, fraud.ledger, fraud)

    cases: list[tuple[dict[str, Any], str | None, int, str]] = [
        ({k: v for k, v in good.items() if k != "merchant_id"}, None, 422, "merchant_id"),
        ({**good, "amount": -5}, None, 422, "amount"),
        ({**good, "amount": 0}, None, 422, "amount"),
        ({**good, "amount": 10**13}, None, 422, "amount"),
        ({**good, "amount": MAX_AMOUNT}, None, 402, "amount"),  # within the API's range, beyond the funds
        ({**good, "card_token": "tok_unknown"}, None, 404, "card_token"),
        ({**good, "merchant_id": "acct_unknown"}, None, 404, "merchant_id"),
        ({**good, "currency": "USD"}, None, 422, "currency"),
        ({**good, "currency": "ABC"}, None, 422, "currency"),
        ({**good, "amount": 1_600}, "used", 409, "Idempotency-Key"),  # same key, other body
    ]
    for body, key, status, field in cases:
        response = post("/v1/authorizations", body, key)
        assert response.status_code == status, (body, response.text)
        assert response.json()["field"] == field, response.text
        assert _state(database, fraud.ledger, fraud) == before, body
    # The PAN reached no log line (only the last four digits may).
    digits = PAN.replace(" ", "")
    assert digits not in caplog.text
    assert PAN not in caplog.text
    assert digits[:12] not in caplog.text
