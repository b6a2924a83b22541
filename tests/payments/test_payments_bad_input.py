"""Bad input gets a clear 4xx naming the field, and nothing changes in the database."""

from __future__ import annotations

import re
from typing import Any

import pytest
from finpilot_payments._ledger import MAX_AMOUNT
from payments_helpers import Bank, snapshot


@pytest.mark.parametrize(
    ("amount", "field"),
    [
        (-5, "amount"),
        (0, "amount"),
        (MAX_AMOUNT + 1, "amount"),
        (10**30, "amount"),
        (12.5, "amount"),
        (100.0, "amount"),
        ("100", "amount"),
        (True, "amount"),
        (None, "amount"),
    ],
)
def test_bad_amounts_are_422_and_change_nothing(bank: Bank, amount: Any, field: str) -> None:
    f = bank.funded()
    before = snapshot(bank.db)
    for response in (
        bank.transfer(f.customer, f.merchant, amount),
        bank.authorize(f.card, f.merchant, amount),
    ):
        assert response.status_code == 422, response.text
        assert response.json()["field"] == field
    assert snapshot(bank.db) == before


def test_bad_requests_name_the_field_and_change_nothing(bank: Bank) -> None:
    f = bank.funded()
    auth_id = bank.authorize(f.card, f.merchant, 100).json()["id"]
    before = snapshot(bank.db)
    cases: list[tuple[str, Any, int, str]] = [
        ("/v1/transfers", {"from_account": f.customer, "amount": 5, "currency": "EUR"}, 422, "to_account"),
        (
            "/v1/transfers",
            {"from_account": f.customer, "to_account": "acct_x", "amount": 5, "currency": "EUR"},
            404,
            "to_account",
        ),
        (
            "/v1/transfers",
            {"from_account": "acct_x", "to_account": f.customer, "amount": 5, "currency": "EUR"},
            404,
            "from_account",
        ),
        (
            "/v1/transfers",
            {"from_account": f.customer, "to_account": f.customer, "amount": 5, "currency": "EUR"},
            422,
            "to_account",
        ),
        (
            "/v1/transfers",
            {"from_account": f.customer, "to_account": f.merchant, "amount": 5, "currency": "eur"},
            422,
            "currency",
        ),
        (
            "/v1/authorizations",
            {"card_token": "tok_nope", "merchant_id": f.merchant, "amount": 5, "currency": "EUR"},
            404,
            "card_token",
        ),
        (
            "/v1/authorizations",
            {"card_token": f.card, "merchant_id": "acct_x", "amount": 5, "currency": "EUR"},
            404,
            "merchant_id",
        ),
        (
            "/v1/authorizations",
            {"card_token": f.card, "merchant_id": f.customer, "amount": 5, "currency": "EUR"},
            422,
            "merchant_id",
        ),
        (
            "/v1/authorizations",
            {"card_token": f.card, "merchant_id": f.merchant, "amount": 5, "currency": "EUR", "extra": 1},
            422,
            "extra",
        ),
        ("/v1/accounts", {"kind": "wallet", "currency": "EUR"}, 422, "kind"),
        ("/v1/accounts", {"kind": "customer", "currency": "EUR", "overdraft_limit": -1}, 422, "overdraft_limit"),
        ("/v1/cards", {"account_id": f.customer, "pan": "4111 1111 1111 1112"}, 422, "pan"),
        ("/v1/cards", {"account_id": f.customer, "pan": "4111-1111"}, 422, "pan"),
        ("/v1/cards", {"account_id": f.customer, "pan": "4111 1111 1111 111x"}, 422, "pan"),
        ("/v1/cards", {"account_id": f.customer, "pan": 4111111111111111}, 422, "pan"),
        ("/v1/cards", {"account_id": f.merchant, "pan": "4111 1111 1111 1111"}, 422, "account_id"),
        ("/v1/cards", {"account_id": "acct_x", "pan": "4111 1111 1111 1111"}, 404, "account_id"),
        (f"/v1/authorizations/{auth_id}/capture", {"amount": -1}, 422, "amount"),
        ("/v1/authorizations/auth_x/capture", {}, 404, "authorization_id"),
        ("/v1/authorizations/auth_x/refunds", {}, 404, "authorization_id"),
        ("/v1/accounts/acct_x/freeze", {}, 404, "account_id"),
        ("/v1/transfers", [1, 2], 422, "body"),
    ]
    for path, body, status, field in cases:
        response = bank.post(path, body)
        assert response.status_code == status, (path, body, response.text)
        error = response.json()
        assert error["field"] == field, (path, body, error)
        assert field in error["message"] or field == "body" or status == 404 or "card number" in error["message"], error
    not_json = bank.client.post(
        "/v1/transfers", content=b"{nope", headers={"Idempotency-Key": "x", "Content-Type": "application/json"}
    )
    assert not_json.status_code == 422
    assert snapshot(bank.db) == before


PAYMENTS_JSON_ROUTES = [
    "/v1/accounts",
    "/v1/cards",
    "/v1/authorizations",
    "/v1/authorizations/auth_x/capture",
    "/v1/authorizations/auth_x/refunds",
    "/v1/transfers",
]
"""Every payments route that reads a JSON body."""


@pytest.mark.parametrize("route", PAYMENTS_JSON_ROUTES)
def test_a_card_number_as_a_field_name_is_never_echoed(bank: Bank, route: str) -> None:
    for body in ({"4111111111111111": 1}, {"4111 1111 1111 1111": 1}):
        response = bank.post(route, body)
        assert 400 <= response.status_code < 500, response.text
        assert not re.search(r"\d(?:[ -]?\d){12,}", response.text), response.text


@pytest.mark.parametrize("route", PAYMENTS_JSON_ROUTES)
def test_deeply_nested_json_is_a_4xx(bank: Bank, route: str) -> None:
    headers = {"Idempotency-Key": f"deep-{route}", "Content-Type": "application/json"}
    response = bank.client.post(route, content=b"[" * 4000, headers=headers)
    assert response.status_code == 400, response.text
    assert set(response.json()) == {"error", "message", "field", "fix"}
