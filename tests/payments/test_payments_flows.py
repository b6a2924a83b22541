"""Accounts, transfers, authorize, capture and refund on each backend: the books always balance."""

from __future__ import annotations

from payments_helpers import Bank


def test_funding_and_transfer_move_money_and_balance(bank: Bank) -> None:
    f = bank.funded(10_000)
    other = bank.account()
    assert bank.transfer(f.customer, other, 2_500).status_code == 201
    assert bank.balance(f.customer)["balance"] == 7_500
    assert bank.balance(other)["balance"] == 2_500
    assert bank.balance(f.settlement)["balance"] == -10_000
    report = bank.books()
    assert report["totals"] == {"EUR": 0}
    assert report["transactions"] == 2


def test_authorize_holds_capture_posts_and_releases(bank: Bank) -> None:
    f = bank.funded(10_000)
    auth = bank.authorize(f.card, f.merchant, 3_000)
    assert auth.status_code == 201, auth.text
    body = auth.json()
    assert body["status"] == "authorized"
    assert body["card_last4"] == "1111"
    assert body["decision"]["action"] == "approve"
    acct = bank.balance(f.customer)
    assert (acct["balance"], acct["held"], acct["available"]) == (10_000, 3_000, 7_000)

    captured = bank.ok(f"/v1/authorizations/{body['id']}/capture", {"amount": 2_000})
    assert (captured["status"], captured["captured"]) == ("captured", 2_000)
    acct = bank.balance(f.customer)
    assert (acct["balance"], acct["held"], acct["available"]) == (8_000, 0, 8_000)
    assert bank.balance(f.merchant)["balance"] == 2_000
    bank.books()


def test_capture_defaults_to_the_full_amount_and_only_once(bank: Bank) -> None:
    f = bank.funded()
    auth_id = bank.authorize(f.card, f.merchant, 1_234).json()["id"]
    assert bank.ok(f"/v1/authorizations/{auth_id}/capture", {})["captured"] == 1_234
    again = bank.post(f"/v1/authorizations/{auth_id}/capture", {})
    assert again.status_code == 409
    assert again.json()["field"] == "authorization_id"
    over = bank.authorize(f.card, f.merchant, 100).json()["id"]
    too_much = bank.post(f"/v1/authorizations/{over}/capture", {"amount": 101})
    assert too_much.status_code == 422
    assert too_much.json()["field"] == "amount"
    bank.books()


def test_refunds_are_bounded_by_the_captured_amount(bank: Bank) -> None:
    f = bank.funded(10_000)
    auth_id = bank.authorize(f.card, f.merchant, 5_000).json()["id"]
    refund_early = bank.post(f"/v1/authorizations/{auth_id}/refunds", {"amount": 10})
    assert refund_early.status_code == 409  # nothing captured yet
    bank.ok(f"/v1/authorizations/{auth_id}/capture", {"amount": 4_000})
    first = bank.ok(f"/v1/authorizations/{auth_id}/refunds", {"amount": 1_500})
    assert first["authorization"]["refunded"] == 1_500
    over = bank.post(f"/v1/authorizations/{auth_id}/refunds", {"amount": 2_501})
    assert over.status_code == 422
    assert over.json()["field"] == "amount"
    rest = bank.ok(f"/v1/authorizations/{auth_id}/refunds", {})
    assert rest["amount"] == 2_500
    assert bank.balance(f.customer)["balance"] == 10_000
    assert bank.balance(f.merchant)["balance"] == 0
    assert bank.post(f"/v1/authorizations/{auth_id}/refunds", {}).status_code == 422
    bank.books()


def test_no_overdraft_beyond_the_limit(bank: Bank) -> None:
    f = bank.funded(1_000, overdraft_limit=500)
    assert bank.authorize(f.card, f.merchant, 1_501).status_code == 402
    refused = bank.transfer(f.customer, f.merchant, 1_501)
    assert refused.status_code == 402
    assert refused.json()["error"] == "InsufficientFundsError"
    assert bank.authorize(f.card, f.merchant, 1_000).status_code == 201
    assert bank.transfer(f.customer, f.merchant, 501).status_code == 402  # the hold counts
    assert bank.transfer(f.customer, f.merchant, 500).status_code == 201
    acct = bank.balance(f.customer)
    assert (acct["balance"], acct["held"], acct["available"]) == (500, 1_000, 0)
    bank.books()


def test_a_frozen_account_cannot_pay_until_unfrozen(bank: Bank) -> None:
    f = bank.funded()
    frozen = bank.ok(f"/v1/accounts/{f.customer}/freeze", {})
    assert frozen["frozen"] is True
    refused = bank.authorize(f.card, f.merchant, 100)
    assert refused.status_code == 403
    assert refused.json()["error"] == "AccountFrozenError"
    assert bank.transfer(f.customer, f.merchant, 100).status_code == 403
    assert bank.transfer(f.settlement, f.customer, 100).status_code == 201  # it can still be paid
    assert bank.ok(f"/v1/accounts/{f.customer}/unfreeze", {})["frozen"] is False
    assert bank.authorize(f.card, f.merchant, 100).status_code == 201
    bank.books()


def test_currencies_do_not_mix(bank: Bank) -> None:
    f = bank.funded()
    usd = bank.account("merchant", currency="USD")
    wrong = bank.authorize(f.card, usd, 100, currency="USD")
    assert wrong.status_code == 422
    assert wrong.json()["field"] == "currency"
    assert bank.transfer(f.customer, usd, 100, currency="EUR").json()["field"] == "currency"
    bank.books()


def test_get_unknown_objects_is_404(bank: Bank) -> None:
    assert bank.get("/v1/accounts/acct_nope").status_code == 404
    assert bank.get("/v1/authorizations/auth_nope").status_code == 404
    assert bank.get("/v1/nothing-here").json()["error"] == "NotFoundError"
