"""Helpers for the backup tests (a uniquely named module: conftest.py cannot be imported)."""

from __future__ import annotations

import itertools
import secrets
import string
import struct
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from finpilot_payments import AllowAllDecider, PaymentsService, PaymentsSettings, open_database

from finpilot.audit import Entry, Ledger

__all__ = ["KEY_ENV", "Traffic", "append_entries", "chunk_spans", "new_key", "payments_traffic"]

KEY_ENV = "FINPILOT_TEST_BACKUP_KEY"
"""The environment variable the tests' settings name in backup.key: {env: NAME}."""


def new_key() -> str:
    """A fresh key as 64 hex digits."""
    return secrets.token_hex(32)


def _noise() -> str:
    # Letters only: a random digit run can look like a card number, which the ledger refuses.
    return "".join(secrets.choice(string.ascii_letters) for _ in range(32))


def append_entries(ledger: Ledger, count: int, *, start: int = 0) -> None:
    """Append ``count`` entries with some incompressible evidence (so payloads span several chunks)."""
    ledger.append_many(
        [
            Entry(
                kind="custom.test.traffic",
                actor="test:writer",
                action="write",
                subject=f"item:{start + i}",
                outcome="ok",
                evidence={"noise": _noise()},
            )
            for i in range(count)
        ]
    )


def chunk_spans(payload: bytes) -> list[tuple[int, int]]:
    """``(start, end)`` byte offsets of each chunk record (nonce | length | ciphertext) in a payload."""
    spans = []
    offset = 0
    while offset < len(payload):
        (length,) = struct.unpack(">I", payload[offset + 12 : offset + 16])
        end = offset + 16 + length
        spans.append((offset, end))
        offset = end
    return spans


@dataclass
class Traffic:
    """Counts of what the background writers committed."""

    ledger_appends: int = 0
    transfers: int = 0
    errors: list[BaseException] = field(default_factory=list)


@contextmanager
def payments_traffic(ledger: Ledger, payments_dir: Path, *, writers: int = 2) -> Iterator[Traffic]:
    """Ledger appends and payments transfers running in threads until the block ends."""
    db = open_database(PaymentsSettings(data_dir=payments_dir))
    service = PaymentsService(db, AllowAllDecider())
    keys = itertools.count()

    def key() -> str:
        return f"k{next(keys)}"

    def account(kind: str) -> str:
        outcome = service.create_account(key(), {"kind": kind, "currency": "EUR", "overdraft_limit": 0})
        return str(outcome.body["id"])

    settlement, customer, merchant = account("settlement"), account("customer"), account("customer")
    service.transfer(key(), {"from_account": settlement, "to_account": customer, "amount": 10**9, "currency": "EUR"})
    stop = threading.Event()
    traffic = Traffic()
    lock = threading.Lock()

    def ledger_writer() -> None:
        try:
            while not stop.is_set():
                append_entries(ledger, 5)
                with lock:
                    traffic.ledger_appends += 5
        except BaseException as exc:  # reported by the test
            traffic.errors.append(exc)

    def payments_writer() -> None:
        try:
            while not stop.is_set():
                service.transfer(
                    key(), {"from_account": customer, "to_account": merchant, "amount": 7, "currency": "EUR"}
                )
                with lock:
                    traffic.transfers += 1
        except BaseException as exc:
            traffic.errors.append(exc)

    threads = [threading.Thread(target=ledger_writer) for _ in range(writers)]
    threads.append(threading.Thread(target=payments_writer))
    for thread in threads:
        thread.start()
    try:
        yield traffic
    finally:
        stop.set()
        for thread in threads:
            thread.join()
        db.close()
