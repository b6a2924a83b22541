"""The payments service's HTTP decider against the real console (``POST /api/v1/fraud/scores``) on a real port.

No mock transport: the console app runs under uvicorn on 127.0.0.1 and the payments service
asks it over loopback with a bearer token, as a deployment would.
"""

from __future__ import annotations

import json
import logging
import random
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from finpilot_payments import HttpDecider, PaymentContext, PaymentsSettings, create_app, make_decider
from finpilot_payments._currency import EXPONENTS
from finpilot_payments._http_decider import major_units, score_request
from finpilot_payments._ledger import MAX_AMOUNT as PAYMENTS_MAX
from live_helpers import PAYMENTS_TOKEN, PaymentsClient, bearer, serve_in_thread
from starlette.testclient import TestClient

from finpilot.audit import Ledger, open_ledger
from finpilot.console import create_app as create_console
from finpilot.console import open_token_store
from finpilot.core import FraudSettings, InputError, Settings, luhn_test_card
from finpilot.fraud import MAX_AMOUNT as FRAUD_MAX
from finpilot.fraud import payment_from_json

Console = Callable[..., tuple[str, Ledger, str, Callable[[], None]]]


@pytest.fixture
def console(tmp_path: Path, tiny_fraud_model: Path) -> Iterator[Console]:
    """``console(behind=, model=, **thresholds)``: the console with the tiny model on a real port.

    ``behind`` sets its clock back (so payments look dated in the future), ``model=False`` starts
    it without a model (scoring answers 503). Gives its URL, ledger, an operator token and a
    function that stops the server.
    """
    stack: list[Any] = []

    def start(
        *, behind: timedelta = timedelta(0), model: bool = True, **thresholds: float
    ) -> tuple[str, Ledger, str, Callable[[], None]]:
        fraud = FraudSettings(model_dir=tiny_fraud_model if model else None, **thresholds)
        settings = Settings(data_dir=tmp_path / f"fp{len(stack)}", fraud=fraud)
        ledger = open_ledger(settings).__enter__()
        tokens = open_token_store(settings).__enter__()
        _info, token = tokens.create("payments-service", "operator")
        app = create_console(settings, ledger, tokens, clock=lambda: datetime.now(UTC) - behind)
        server = serve_in_thread(app, lifespan="off")
        url = server.__enter__()
        stack.extend([ledger, tokens, server])
        return url, ledger, token, lambda: server.__exit__(None, None, None)

    yield start
    for thing in reversed(stack):
        thing.__exit__(None, None, None)  # a server stopped twice stays stopped


def payments_over(url: str, token: str, tmp_path: Path, *, fail_open: bool = False) -> Iterator[PaymentsClient]:
    """The payments app (SQLite in tmp_path) deciding over HTTP with the console at ``url``."""
    env = {"PAYMENTS_DECIDER_URL": url, "PAYMENTS_DECIDER_TOKEN": token, "PAYMENTS_DECIDER_TIMEOUT_S": "5"}
    if fail_open:
        env["PAYMENTS_DECIDER_FAIL_OPEN"] = "true"
    settings = PaymentsSettings.from_env(env, data_dir=tmp_path / "payments", bootstrap_token=PAYMENTS_TOKEN)
    assert token not in repr(settings)
    decider = make_decider(settings)
    assert isinstance(decider, HttpDecider)
    assert token not in repr(decider)
    app = create_app(settings, decider=decider)
    try:
        with TestClient(app, headers=bearer()) as client:
            payments = PaymentsClient("http://testserver")
            payments.http = client
            yield payments
    finally:  # also when a test fails inside the loop, so its pool's sockets never leak into the next test
        decider.close()


def fraud_entries(ledger: Ledger) -> list[dict[str, Any]]:
    """Every ``fraud.*`` entry, oldest first."""
    entries = reversed(ledger.tail(ledger.size)) if ledger.size else []
    return [e.fields for e in entries if e.fields["kind"].startswith("fraud.")]


def test_the_body_is_what_v1_score_takes_with_exact_major_units() -> None:
    assert json.dumps(major_units(1_234, "EUR")) == "12.34"
    assert json.dumps(major_units(1_234, "JPY")) == "1234.0"
    assert json.dumps(major_units(1_234, "BHD")) == "1.234"
    assert json.dumps(major_units(10**12 - 1, "EUR")) == "9999999999.99"
    for cents in random.Random(3).sample(range(1, 10**11), 500):
        assert major_units(cents, "EUR") == float(f"{cents // 100}.{cents % 100:02d}")


def test_a_payment_is_decided_by_the_console_and_audited_there(
    console: Console, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    url, ledger, token, _stop = console()
    pan = luhn_test_card(random.Random(11))
    for payments in payments_over(url, token, tmp_path):
        account, card, merchant = payments.customer_with_card(pan)
        response = payments.authorize(card, merchant, 1_234)
        assert response.status_code in {201, 402}, response.text
        auth = response.json()
        decision = auth["decision"]
        assert decision["model_version"] != "unavailable", decision
        entry = ledger.entry(decision["audit_index"]).fields
        assert (entry["kind"], entry["subject"]) == ("fraud.decision", f"payment:{auth['id']}")
        assert entry["evidence"]["customer_id"] == account
        assert entry["evidence"]["terminal_id"] == merchant
        assert entry["evidence"]["amount"] == 12.34
        assert entry["outcome"] == {"decline": "decline", "review": "review", "approve": "approve"}[decision["action"]]
    # The token and the card number appear in no log line and no ledger entry.
    everything = caplog.text + json.dumps([e.fields for e in ledger.tail(ledger.size)])
    assert token not in everything
    assert pan not in everything
    assert pan[-12:] not in everything


def test_freeze_account_declines_and_freezes_on_the_payments_side(console: Console, tmp_path: Path) -> None:
    url, ledger, token, _stop = console(review_threshold=0, decline_threshold=0, freeze_threshold=0)
    for payments in payments_over(url, token, tmp_path):
        account, card, merchant = payments.customer_with_card(luhn_test_card(random.Random(12)))
        first = payments.authorize(card, merchant, 500)
        assert first.status_code == 402, first.text
        assert first.json()["status"] == "declined"
        assert payments.http.get(f"/v1/accounts/{account}").json()["frozen"] is True
        # The frozen account's next payment is refused before any decider is asked.
        size = ledger.size
        second = payments.authorize(card, merchant, 500)
        assert second.status_code == 403, second.text
        assert ledger.size == size
        assert payments.http.get(f"/v1/accounts/{account}").json()["held"] == 0
    kinds = [
        (e["kind"], e["action"]) for e in fraud_entries(ledger) if e["kind"] in {"fraud.decision", "fraud.account"}
    ]
    assert kinds == [("fraud.decision", "freeze_account"), ("fraud.account", "freeze")]


def test_a_wrong_token_or_a_console_that_is_down_fails_closed(console: Console, tmp_path: Path) -> None:
    url, ledger, token, stop = console()
    for payments in payments_over(url, "fp_wrong_token", tmp_path):
        _account, card, merchant = payments.customer_with_card(luhn_test_card(random.Random(13)))
        refused = payments.authorize(card, merchant, 700)
        assert refused.status_code == 402, refused.text
        assert refused.json()["decision"]["reasons"] == ["decider refused the request (HTTP 401)"]
        assert fraud_entries(ledger) == []
    # The right token, but the console has stopped: nothing listens, refused at once, declined.
    stop()
    for payments in payments_over(url, token, tmp_path / "second"):
        _account, card, merchant = payments.customer_with_card(luhn_test_card(random.Random(14)))
        down = payments.authorize(card, merchant, 700)
        assert down.status_code == 402, down.text
        assert down.json()["decision"]["model_version"] == "unavailable"


def test_v1_score_refuses_a_time_far_in_the_future_and_changes_nothing(console: Console) -> None:
    url, ledger, token, _stop = console()
    headers = {"Authorization": f"Bearer {token}"}
    later = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    body = {"transaction_id": "tx-future", "time": later, "customer_id": "c1", "terminal_id": "t1", "amount": 5.0}
    response = httpx.post(f"{url}/api/v1/fraud/scores", json=body, headers=headers, timeout=10)
    assert response.status_code == 422, response.text
    assert response.json()["field"] == "time"
    assert fraud_entries(ledger) == []
    # A minute ahead is clock skew, not an error.
    body.update(transaction_id="tx-skew", time=(datetime.now(UTC) + timedelta(minutes=1)).isoformat())
    assert httpx.post(f"{url}/api/v1/fraud/scores", json=body, headers=headers, timeout=10).status_code == 200


def test_the_request_body_holds_no_card_data() -> None:
    context = PaymentContext("auth_1", "acct_1", "acct_2", "tok_secret", "4242", 100, "EUR", "2026-01-01T00:00:00")
    body = score_request(context)
    assert "tok_secret" not in json.dumps(body)
    assert "4242" not in json.dumps(body)
    assert body["time"] == "2026-01-01T00:00:00Z"


# Issue 10, finding 2: the fraud API refused (422) amounts the payments service accepts, and a
# fail-open payments service approved them unscored. The caps now agree, and a refusal declines.


def test_every_amount_the_payments_service_takes_is_one_the_fraud_api_takes() -> None:
    assert {0, 2, 3, 4} <= set(EXPONENTS.values())
    for exponent in set(EXPONENTS.values()):
        assert Decimal(PAYMENTS_MAX).scaleb(-exponent) < Decimal(FRAUD_MAX), exponent
    for currency in EXPONENTS:  # the real request body, through the fraud API's own parser
        context = PaymentContext("auth_1", "acct_1", "acct_2", "tok_1", "1111", PAYMENTS_MAX, currency, "2026-01-01")
        assert payment_from_json(score_request(context)).amount == major_units(PAYMENTS_MAX, currency)
    # The fraud cap is a real one: the next amount up in a currency without a minor unit is refused there.
    with pytest.raises(InputError) as refused:
        payment_from_json({**score_request(context), "amount": float(PAYMENTS_MAX + 1)})
    assert refused.value.field == "amount"


def test_fail_open_a_large_payment_is_scored_by_the_console_not_approved_unseen(
    console: Console, tmp_path: Path
) -> None:
    url, ledger, token, _stop = console()
    for payments in payments_over(url, token, tmp_path, fail_open=True):
        account, card, merchant = payments.customer_with_card(luhn_test_card(random.Random(15)), funds=3 * 10**11)
        response = payments.authorize(card, merchant, 2 * 10**11)  # 2,000,000,000.00 EUR
        assert response.status_code in {201, 402}, response.text
        decision = response.json()["decision"]
        assert decision["model_version"] != "unavailable", decision
        entry = ledger.entry(decision["audit_index"]).fields
        assert (entry["evidence"]["customer_id"], entry["evidence"]["amount"]) == (account, 2e9)


def test_fail_open_declines_what_the_console_refuses(console: Console, tmp_path: Path) -> None:
    # The console's clock an hour behind: every payment is dated in its future, a 422 naming `time`.
    url, ledger, token, _stop = console(behind=timedelta(hours=1))
    for payments in payments_over(url, token, tmp_path, fail_open=True):
        _account, card, merchant = payments.customer_with_card(luhn_test_card(random.Random(16)))
        response = payments.authorize(card, merchant, 2 * 10**6)
        assert response.status_code == 402, response.text
        decision = response.json()["decision"]
        assert (decision["action"], decision["reasons"]) == ("decline", ["decider refused the request (HTTP 422)"])
        assert decision["model_version"] == "unavailable"
    url, ledger, token, _stop = console()
    for payments in payments_over(url, "fp_wrong_token", tmp_path / "token", fail_open=True):
        _account, card, merchant = payments.customer_with_card(luhn_test_card(random.Random(17)))
        response = payments.authorize(card, merchant, 700)
        assert response.status_code == 402, response.text
        assert response.json()["decision"]["reasons"] == ["decider refused the request (HTTP 401)"]
    assert fraud_entries(ledger) == []


def test_fail_open_still_approves_when_the_console_is_unavailable(console: Console, tmp_path: Path) -> None:
    url, ledger, token, stop = console(model=False)  # up, but no model: scoring answers 503
    for payments in payments_over(url, token, tmp_path, fail_open=True):
        _account, card, merchant = payments.customer_with_card(luhn_test_card(random.Random(18)))
        response = payments.authorize(card, merchant, 700)
        assert response.status_code == 201, response.text
        assert response.json()["decision"]["reasons"] == ["decider unavailable (fail-open)"]
    stop()  # nothing listens: a transport error
    for payments in payments_over(url, token, tmp_path / "down", fail_open=True):
        _account, card, merchant = payments.customer_with_card(luhn_test_card(random.Random(19)))
        response = payments.authorize(card, merchant, 700)
        assert response.status_code == 201, response.text
        assert response.json()["decision"]["reasons"] == ["decider unavailable (fail-open)"]
    assert fraud_entries(ledger) == []
