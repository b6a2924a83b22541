"""Currencies are ISO 4217 codes with a minor unit; the exponent that converts amounts comes from the same table.

Issue 10, finding 13: any three capital letters used to pass as a currency, and the exponents
were a hand list beside the check.
"""

from __future__ import annotations

import string
from typing import Any

import pytest
from finpilot_payments._currency import EXPONENTS, currency_exponent
from finpilot_payments._http_decider import major_units
from finpilot_payments._models import AccountIn
from hypothesis import given
from hypothesis import strategies as st
from payments_helpers import Bank, snapshot
from pydantic import ValidationError

NOT_CURRENCIES = ["ABC", "QQQ", "XAU", "XXX", "XTS", "XDR", "eur", "Eur", "EURO", "EU", "", 978, None]


@pytest.mark.parametrize("code", NOT_CURRENCIES)
def test_a_code_that_is_not_an_iso_4217_currency_is_422_naming_currency_and_the_fix(bank: Bank, code: Any) -> None:
    f = bank.funded()
    before = snapshot(bank.db)
    for response in (
        bank.post("/v1/accounts", {"kind": "customer", "currency": code}),
        bank.transfer(f.settlement, f.customer, 100, currency=code),
        bank.authorize(f.card, f.merchant, 100, currency=code),
    ):
        assert response.status_code == 422, response.text
        error = response.json()
        assert error["field"] == "currency", error
        assert "currency" in error["message"]
        if isinstance(code, str) and len(code) == 3:  # the shape is right; the table says no
            assert "ISO 4217" in error["message"], error
            assert "EUR" in error["fix"], error
            assert code not in error["message"] + error["fix"], error  # never echoed
    assert snapshot(bank.db) == before


def test_real_currencies_open_accounts_and_pay(bank: Bank) -> None:
    for code in ("JPY", "BHD", "CLF", "USD", "CHW"):
        settlement = bank.account("settlement", currency=code)
        customer = bank.account("customer", currency=code)
        assert bank.transfer(settlement, customer, 1_234, currency=code).status_code == 201
        assert bank.balance(customer)["currency"] == code


def test_the_exponents_come_from_the_iso_4217_table() -> None:
    assert (currency_exponent("JPY"), currency_exponent("BHD"), currency_exponent("EUR")) == (0, 3, 2)
    assert (currency_exponent("CLF"), currency_exponent("KRW"), currency_exponent("USD")) == (4, 0, 2)
    # Codes without a minor unit (metals, bond units, SDR, testing, "no currency") are not currencies here.
    assert not {"XAU", "XAG", "XPD", "XPT", "XBA", "XBB", "XBC", "XBD", "XDR", "XSU", "XUA", "XTS", "XXX"} & set(
        EXPONENTS
    )
    assert len(EXPONENTS) > 150
    with pytest.raises(KeyError):
        currency_exponent("ABC")


@given(st.text(alphabet=string.ascii_uppercase, min_size=3, max_size=3) | st.sampled_from(sorted(EXPONENTS)))
def test_a_code_is_accepted_exactly_when_the_table_gives_it_an_exponent(code: str) -> None:
    if code not in EXPONENTS:
        with pytest.raises(ValidationError) as refused:
            AccountIn(kind="customer", currency=code)
        assert [error["loc"] for error in refused.value.errors()] == [("currency",)]
        return
    assert AccountIn(kind="customer", currency=code).currency == code
    exponent = currency_exponent(code)
    assert exponent in {0, 2, 3, 4}
    assert major_units(10**exponent, code) == 1.0
