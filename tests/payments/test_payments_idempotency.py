"""Idempotency keys: a retry gets the same answer and posts nothing; a reused key with another body is a 409."""

from __future__ import annotations

from payments_helpers import Bank, snapshot


def test_same_key_same_body_replays_and_posts_once(bank: Bank) -> None:
    f = bank.funded(10_000)
    body = {"from_account": f.customer, "to_account": f.merchant, "amount": 700, "currency": "EUR"}
    first = bank.post("/v1/transfers", body, key="t-1")
    again = bank.post("/v1/transfers", body, key="t-1")
    assert first.status_code == again.status_code == 201
    assert first.json() == again.json()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first.headers
    assert bank.balance(f.customer)["balance"] == 9_300
    assert bank.books()["transactions"] == 2


def test_same_key_different_body_is_409_and_changes_nothing(bank: Bank) -> None:
    f = bank.funded(10_000)
    body = {"from_account": f.customer, "to_account": f.merchant, "amount": 700, "currency": "EUR"}
    assert bank.post("/v1/transfers", body, key="t-2").status_code == 201
    before = snapshot(bank.db)
    clash = bank.post("/v1/transfers", {**body, "amount": 701}, key="t-2")
    assert clash.status_code == 409
    assert clash.json()["error"] == "IdempotencyConflictError"
    assert clash.json()["field"] == "Idempotency-Key"
    # The same key on another endpoint is a different request too.
    assert bank.post(f"/v1/accounts/{f.customer}/freeze", {}, key="t-2").status_code == 409
    assert snapshot(bank.db) == before


def test_authorize_retry_does_not_ask_or_hold_twice(make_bank) -> None:  # type: ignore[no-untyped-def]
    calls = []

    class Counting:
        def decide(self, payment):  # type: ignore[no-untyped-def]
            from finpilot_payments import Decision

            calls.append(payment.payment_id)
            return Decision(action="approve")

    bank = make_bank(decider=Counting())
    f = bank.funded(10_000)
    first = bank.authorize(f.card, f.merchant, 900, key="a-1")
    again = bank.authorize(f.card, f.merchant, 900, key="a-1")
    assert first.json() == again.json()
    assert len(calls) == 1
    assert bank.balance(f.customer)["held"] == 900
    clash = bank.authorize(f.card, f.merchant, 901, key="a-1")
    assert clash.status_code == 409
    assert len(calls) == 1


def test_capture_and_refund_retries_post_once(bank: Bank) -> None:
    f = bank.funded(10_000)
    auth_id = bank.authorize(f.card, f.merchant, 1_000).json()["id"]
    for _ in range(3):
        assert bank.post(f"/v1/authorizations/{auth_id}/capture", {}, key="c-1").status_code == 200
        assert bank.post(f"/v1/authorizations/{auth_id}/refunds", {"amount": 300}, key="r-1").status_code == 201
    assert bank.balance(f.customer)["balance"] == 9_300
    assert bank.balance(f.merchant)["balance"] == 700
    assert bank.books()["transactions"] == 3


def test_a_refused_request_does_not_spend_its_key(bank: Bank) -> None:
    f = bank.funded(1_000)
    body = {"from_account": f.customer, "to_account": f.merchant, "amount": 1_500, "currency": "EUR"}
    assert bank.post("/v1/transfers", body, key="t-3").status_code == 402
    assert bank.transfer(f.settlement, f.customer, 1_000).status_code == 201
    assert bank.post("/v1/transfers", body, key="t-3").status_code == 201  # the retry succeeds once funded


def test_every_mutating_call_needs_a_key(bank: Bank) -> None:
    response = bank.client.post("/v1/accounts", json={"kind": "customer", "currency": "EUR"})
    assert response.status_code == 422
    assert response.json()["field"] == "Idempotency-Key"
    too_long = bank.post("/v1/accounts", {"kind": "customer", "currency": "EUR"}, key="k" * 256)
    assert too_long.status_code == 422
    assert too_long.json()["field"] == "Idempotency-Key"
