"""The drill's traffic generator: ``python -m finpilot.heal._chaos._client`` (see :mod:`finpilot.heal._chaos._traffic`).

It opens a settlement, customer and merchant account and a card through the router, funds the
customer, then sends transfers and authorizations in turn from ``_WORKERS`` keep-alive
connections until its stdin closes; with ``--retry-s`` it resends unanswered requests with
their key for up to that long (core's :class:`~finpilot.core.Retry`, 0.05 s doubling to 0.5 s
between resends). Talking to the parent over stdout is its interface, as for the node agent.

Its connections are ``http.client`` ones, not core's httpx factory, for the traffic generator's
reason (``finpilot.fraud``'s ``RawSender``): it is a load generator on the cores whose services
it measures, at up to 1,000 requests a second, and httpx costs several times the CPU per request.
It takes the factory's ``User-Agent`` and connect timeout (:data:`~finpilot.core.HTTP_DEFAULTS`).
"""

from __future__ import annotations

import argparse
import functools
import http.client
import itertools
import json
import random
import socket
import sys
import threading
import time
from pathlib import Path
from typing import Any, cast

from finpilot.core import HTTP_DEFAULTS, Backoff, Retry, SecretRef, StorageError, luhn_test_card, resolve_secret
from finpilot.heal._chaos._traffic import RequestRecord

_WORKERS = 24
_TIMEOUT_S = 15.0
_FUNDING = 10**11
# The setup waits up to two minutes for the payments service behind the router to answer.
_SETUP = Retry(attempts=None, deadline_s=120.0, backoff=Backoff(first_s=0.1, max_s=2.0))


@functools.cache
def _resend_policy(retry_s: float) -> Retry:
    return Retry(attempts=None if retry_s > 0 else 1, deadline_s=retry_s, backoff=Backoff(first_s=0.05, max_s=0.5))


class _Client:
    def __init__(self, host: str, port: int, token: str | None = None) -> None:
        self._host, self._port = host, port
        self._auth = {} if token is None else {"Authorization": f"Bearer {token}"}
        self._conn = self._connect()

    def _connect(self) -> http.client.HTTPConnection:
        return http.client.HTTPConnection(self._host, self._port, timeout=HTTP_DEFAULTS.connect_timeout(_TIMEOUT_S))

    def post(self, path: str, body: dict[str, Any], key: str) -> tuple[int, dict[str, Any]]:
        data = json.dumps(body).encode()
        headers = {"Content-Type": "application/json", "Idempotency-Key": key, "User-Agent": HTTP_DEFAULTS.user_agent}
        headers.update(self._auth)
        try:
            if self._conn.sock is None:
                self._conn.connect()  # under the connect timeout; then each read and write under the request's
                cast("socket.socket", self._conn.sock).settimeout(_TIMEOUT_S)
            self._conn.request("POST", path, body=data, headers=headers)
            response = self._conn.getresponse()
            raw = response.read()
        except (OSError, http.client.HTTPException):
            self._conn.close()
            self._conn = self._connect()
            raise
        try:
            parsed = json.loads(raw) if raw else {}
        except ValueError:
            parsed = {}
        return response.status, parsed if isinstance(parsed, dict) else {}

    def close(self) -> None:
        self._conn.close()


def _setup(client: _Client, run: str) -> dict[str, str]:
    def created(path: str, body: dict[str, Any], what: str) -> dict[str, Any]:
        def post() -> tuple[int, dict[str, Any]]:
            try:
                return client.post(path, body, f"drill-{run}-setup-{what}")
            except (OSError, http.client.HTTPException):
                return 0, {}

        status, reply = _SETUP.call(post, retry_if=lambda answer: answer[0] not in (200, 201))
        if status not in (200, 201):
            raise StorageError(f"the payments service did not create {what} (last status {status})")
        return reply

    settlement = created("/v1/accounts", {"kind": "settlement", "currency": "EUR"}, "settlement")["id"]
    customer = created("/v1/accounts", {"kind": "customer", "currency": "EUR"}, "customer")["id"]
    merchant = created("/v1/accounts", {"kind": "merchant", "currency": "EUR"}, "merchant")["id"]
    pan = luhn_test_card(random.Random(f"drill-card-{run}"))  # nosec B311  # noqa: S311 - a test card number, not a secret
    card = created("/v1/cards", {"account_id": customer, "pan": pan}, "card")["token"]
    created(
        "/v1/transfers",
        {"from_account": settlement, "to_account": customer, "amount": _FUNDING, "currency": "EUR"},
        "funding",
    )
    return {"settlement": settlement, "customer": customer, "merchant": merchant, "card": card}


# Answers after which a real client resends with the same key: no answer, or the service (or the
# router in front of it) saying it could not finish. The idempotency record decides the outcome.
_RESEND = frozenset({502, 503, 504})


def _send(client: _Client, run: str, seq: int, accounts: dict[str, str], retry_s: float = 0.0) -> RequestRecord:
    amount = seq + 1  # unique within the run: a duplicate shows up as a second row with this amount
    key = f"drill-{run}-{seq}"
    if seq % 2 == 0:
        op, path, source, target = "transfer", "/v1/transfers", accounts["settlement"], accounts["customer"]
        body: dict[str, Any] = {"from_account": source, "to_account": target, "amount": amount, "currency": "EUR"}
    else:
        op, path, source, target = "authorize", "/v1/authorizations", accounts["customer"], accounts["merchant"]
        body = {"card_token": accounts["card"], "merchant_id": target, "amount": amount, "currency": "EUR"}
    t0 = time.time()
    attempts = 0

    def post() -> tuple[int | None, dict[str, Any], str | None]:
        nonlocal attempts
        attempts += 1
        try:
            status, reply = client.post(path, body, key)
        except (OSError, http.client.HTTPException) as exc:
            return None, {}, type(exc).__name__
        return status, reply, None

    status, reply, error = _resend_policy(retry_s).call(post, retry_if=lambda a: a[0] is None or a[0] in _RESEND)
    ident = reply.get("id") if status is not None and 200 <= status < 300 else None
    if error is None and ident is None:
        error = f"HTTP {status}"
    return RequestRecord(op, key, amount, source, target, t0, time.time(), status, ident, error, attempts)


def main(argv: list[str] | None = None) -> int:
    """Entry point of the generator process."""
    ap = argparse.ArgumentParser(prog="python -m finpilot.heal._chaos._traffic")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--rate", type=float, required=True)
    ap.add_argument("--run", required=True)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--retry-s", type=float, default=0.0)
    ap.add_argument("--token-file", type=Path, help="chmod 600 file holding the payments API token (admin)")
    args = ap.parse_args(argv)
    token = None
    if args.token_file is not None:  # by reference: the token itself is never an argument
        token = resolve_secret(SecretRef(file=args.token_file), field="--token-file").decode()
    setup_client = _Client(args.host, args.port, token)
    accounts = _setup(setup_client, args.run)
    setup_client.close()
    seqs = itertools.count()
    records: list[RequestRecord] = []
    lock = threading.Lock()
    stop = threading.Event()
    interval = _WORKERS / args.rate

    def worker(offset: float) -> None:
        client = _Client(args.host, args.port, token)
        next_at = time.monotonic() + offset
        while not stop.is_set():
            time.sleep(max(0.0, next_at - time.monotonic()))
            next_at += interval
            if stop.is_set():
                break
            record = _send(client, args.run, next(seqs), accounts, args.retry_s)
            with lock:
                records.append(record)
        client.close()

    threads = [threading.Thread(target=worker, args=(i * interval / _WORKERS,), daemon=True) for i in range(_WORKERS)]
    for thread in threads:
        thread.start()
    sys.stdout.write(json.dumps({"started": time.time(), "accounts": accounts}) + "\n")
    sys.stdout.flush()
    sys.stdin.read()
    stop.set()
    for thread in threads:
        thread.join(_TIMEOUT_S + 5)
    with lock:
        rows = [r.to_json() for r in records]
    args.out.write_text("\n".join(json.dumps(row) for row in rows) + ("\n" if rows else ""))
    sys.stdout.write(json.dumps({"done": len(rows)}) + "\n")
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
