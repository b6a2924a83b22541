"""Helpers for tests that wire the payments service and the fraud engine together over real sockets."""

from __future__ import annotations

import itertools
import time
from typing import Any

import httpx
from server_helpers import serve_in_thread

__all__ = ["PaymentsClient", "serve_in_thread"]


class PaymentsClient:
    """The payments API over HTTP, with a fresh idempotency key per POST unless one is given."""

    def __init__(self, url: str) -> None:
        self.http = httpx.Client(base_url=url, timeout=30)
        self._keys = itertools.count()

    def post(self, path: str, body: dict[str, Any] | None = None, *, key: str | None = None) -> httpx.Response:
        """POST JSON with an idempotency key."""
        headers = {"Idempotency-Key": key or f"live-{time.time_ns()}-{next(self._keys)}"}
        return self.http.post(path, json=body or {}, headers=headers)

    def created(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        """POST and expect 201; the body."""
        response = self.post(path, body)
        assert response.status_code == 201, response.text
        result: dict[str, Any] = response.json()
        return result

    def customer_with_card(self, pan: str, funds: int = 10**8) -> tuple[str, str, str]:
        """A funded customer with a card, and a merchant (EUR): ``(account, card_token, merchant)``."""
        settlement = self.created("/v1/accounts", {"kind": "settlement", "currency": "EUR"})["id"]
        account = self.created("/v1/accounts", {"kind": "customer", "currency": "EUR"})["id"]
        self.created(
            "/v1/transfers", {"from_account": settlement, "to_account": account, "amount": funds, "currency": "EUR"}
        )
        card = self.created("/v1/cards", {"account_id": account, "pan": pan})["token"]
        merchant = self.created("/v1/accounts", {"kind": "merchant", "currency": "EUR"})["id"]
        return account, card, merchant

    def authorize(self, card: str, merchant: str, amount: int) -> httpx.Response:
        """Ask for an authorization."""
        return self.post(
            "/v1/authorizations", {"card_token": card, "merchant_id": merchant, "amount": amount, "currency": "EUR"}
        )

    def close(self) -> None:
        """Close the connection pool."""
        self.http.close()
