"""Helpers for tests that wire the payments service and the fraud engine together over real sockets."""

from __future__ import annotations

import itertools
import os
import secrets
import time
from pathlib import Path
from typing import Any

import httpx
from server_helpers import serve_in_thread

from finpilot.core import SecretRef

__all__ = ["PAYMENTS_TOKEN", "PaymentsClient", "bearer", "serve_in_thread", "token_file"]

PAYMENTS_TOKEN = secrets.token_urlsafe(32)
"""The payments apps' bootstrap (admin) token in these tests: ``PaymentsSettings(bootstrap_token=...)``."""


def bearer(token: str = PAYMENTS_TOKEN) -> dict[str, str]:
    """The ``Authorization`` header for ``token``."""
    return {"Authorization": f"Bearer {token}"}


def token_file(directory: Path) -> SecretRef:
    """:data:`PAYMENTS_TOKEN` in a chmod 600 file under ``directory``, by reference (as clients get it)."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "payments-token"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(PAYMENTS_TOKEN + "\n")
    return SecretRef(file=path)


class PaymentsClient:
    """The payments API over HTTP with the test token, and a fresh idempotency key per POST unless one is given."""

    def __init__(self, url: str) -> None:
        self.http = httpx.Client(base_url=url, timeout=30, headers=bearer())
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
