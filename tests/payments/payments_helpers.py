"""Helpers shared by the payments tests (a uniquely named module: conftest.py cannot be imported)."""

from __future__ import annotations

import itertools
import random
import secrets
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
from finpilot_payments import Database
from finpilot_payments._db import TABLES, table_rows
from starlette.testclient import TestClient

from finpilot.core import luhn_test_card

__all__ = ["ADMIN_TOKEN", "Bank", "Funded", "all_rows_text", "bearer", "random_pan", "snapshot"]

ADMIN_TOKEN = secrets.token_urlsafe(32)
"""The test apps' bootstrap token (``admin``): what the :class:`Bank` sends unless a test says otherwise."""


def bearer(token: str) -> dict[str, str]:
    """The ``Authorization`` header for ``token``."""
    return {"Authorization": f"Bearer {token}"}


def random_pan(rng: random.Random, length: int = 16, prefix: str = "4") -> str:
    """A random card number that passes the Luhn check (finpilot's one test-card generator)."""
    return luhn_test_card(rng, length=length, prefix=prefix)


def snapshot(db: Database) -> dict[str, list[str]]:
    """Every row of every table, sorted: equal snapshots mean nothing changed."""
    return {table: sorted(map(repr, table_rows(db, table))) for table in TABLES}


@dataclass
class Funded:
    """A settlement account, a funded customer with a card, and a merchant, all in EUR."""

    settlement: str
    customer: str
    merchant: str
    card: str


@dataclass
class Bank:
    """A test client with short-hands for the API; every POST gets a fresh idempotency key unless given one."""

    client: TestClient
    db: Database
    counter: itertools.count[int]
    responses: list[httpx.Response] = field(default_factory=list)

    def post(self, path: str, body: Any, *, key: str | None = None, **kwargs: Any) -> httpx.Response:
        """POST JSON with an idempotency key; every response is kept for later inspection."""
        headers = {"Idempotency-Key": key if key is not None else f"key-{next(self.counter)}"}
        response = self.client.post(path, json=body, headers=headers, **kwargs)
        self.responses.append(response)
        return response

    def get(self, path: str) -> httpx.Response:
        """GET, keeping the response."""
        response = self.client.get(path)
        self.responses.append(response)
        return response

    def ok(self, path: str, body: Any, **kwargs: Any) -> dict[str, Any]:
        """POST that must succeed; the JSON body."""
        response = self.post(path, body, **kwargs)
        assert response.status_code in {200, 201}, response.text
        result: dict[str, Any] = response.json()
        return result

    def account(self, kind: str = "customer", currency: str = "EUR", overdraft_limit: int = 0) -> str:
        """Open an account; its id."""
        body = {"kind": kind, "currency": currency, "overdraft_limit": overdraft_limit}
        return str(self.ok("/v1/accounts", body)["id"])

    def balance(self, account_id: str) -> dict[str, Any]:
        """An account's JSON."""
        response = self.get(f"/v1/accounts/{account_id}")
        assert response.status_code == 200, response.text
        result: dict[str, Any] = response.json()
        return result

    def transfer(self, source: str, target: str, amount: int, currency: str = "EUR") -> httpx.Response:
        """POST a transfer."""
        body = {"from_account": source, "to_account": target, "amount": amount, "currency": currency}
        return self.post("/v1/transfers", body)

    def authorize(self, card: str, merchant: str, amount: int, currency: str = "EUR", **kw: Any) -> httpx.Response:
        """POST an authorization."""
        body = {"card_token": card, "merchant_id": merchant, "amount": amount, "currency": currency}
        return self.post("/v1/authorizations", body, **kw)

    def card(self, account: str, pan: str = "4111 1111 1111 1111") -> str:
        """Tokenise a card; its token."""
        return str(self.ok("/v1/cards", {"account_id": account, "pan": pan})["token"])

    def funded(self, amount: int = 10_000, overdraft_limit: int = 0) -> Funded:
        """A settlement account, a customer funded with ``amount`` and a card, and a merchant."""
        settlement = self.account("settlement")
        customer = self.account("customer", overdraft_limit=overdraft_limit)
        merchant = self.account("merchant")
        assert self.transfer(settlement, customer, amount).status_code == 201
        return Funded(settlement, customer, merchant, self.card(customer))

    def books(self) -> dict[str, Any]:
        """The ledger check; asserts it balances."""
        report: dict[str, Any] = self.get("/v1/ledger/check").json()
        assert report["balanced"], report["problems"]
        return report


def all_rows_text(db: Database) -> Iterator[str]:
    """Every stored value as text (for searching the database for card digits)."""
    for table in TABLES:
        for row in table_rows(db, table):
            yield repr(row)
