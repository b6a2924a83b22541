"""Helpers for tests that wire the payments service and the fraud engine together over real sockets."""

from __future__ import annotations

import contextlib
import itertools
import socket
import threading
import time
from collections.abc import Generator, Iterator
from typing import Any

import httpx
import uvicorn

from finpilot.console import tcp_nodelay

__all__ = ["PaymentsClient", "serve_in_thread"]


class _ThreadServer(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        yield  # the test's main thread keeps its signals


@contextlib.contextmanager
def serve_in_thread(app: Any, *, lifespan: str = "on") -> Iterator[str]:
    """Serve ``app`` under uvicorn on 127.0.0.1, a free port, in a thread; its base URL."""
    sock = tcp_nodelay(socket.create_server(("127.0.0.1", 0), backlog=2048))
    port = sock.getsockname()[1]
    server = _ThreadServer(uvicorn.Config(app, log_level="warning", access_log=False, lifespan=lifespan))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            server.should_exit = True
            sock.close()
            raise AssertionError("the server did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)
        sock.close()


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
