"""Helpers for the database failover tests: free ports, a PostgreSQL-reachable directory, payment traffic."""

from __future__ import annotations

import shutil
import socket
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from finpilot_payments import AllowAllDecider, PaymentsService, StorageError
from finpilot_payments._postgres import PostgresDatabase


def free_ports(count: int) -> list[int]:
    """``count`` distinct TCP ports that were free a moment ago."""
    socks = [socket.socket() for _ in range(count)]
    try:
        for sock in socks:
            sock.bind(("127.0.0.1", 0))
        return [sock.getsockname()[1] for sock in socks]
    finally:
        for sock in socks:
            sock.close()


@contextmanager
def pg_reachable_dir() -> Iterator[Path]:
    """A fresh directory the ``postgres`` OS user can enter, removed afterwards.

    Under root, PostgreSQL runs as ``postgres``, which cannot enter pytest's 0700 tmp tree.
    """
    base = Path(tempfile.mkdtemp(prefix="finpilot-pg-", dir="/tmp"))
    base.chmod(0o755)
    try:
        yield base
    finally:
        shutil.rmtree(base, ignore_errors=True)


@dataclass
class Traffic:
    """Transfers with idempotency keys; each request is resent with its key until it is acknowledged."""

    service: PaymentsService
    db: PostgresDatabase
    settlement: str
    customer: str
    acked: dict[str, str] = field(default_factory=dict)  # idempotency key -> transaction id
    ack_times: list[tuple[float, int]] = field(default_factory=list)  # (time, reconnects so far)
    failures: int = 0
    replays: int = 0
    stop: threading.Event = field(default_factory=threading.Event)

    @classmethod
    def open(cls, dsn: str) -> Traffic:
        """The payments service on ``dsn`` with a settlement account and a customer to pay."""
        db = PostgresDatabase(dsn, "payments")
        service = PaymentsService(db, AllowAllDecider())
        settlement = service.create_account("s", {"kind": "settlement", "currency": "EUR", "overdraft_limit": 10**12})
        customer = service.create_account("c", {"kind": "customer", "currency": "EUR", "overdraft_limit": 0})
        return cls(service, db, settlement.body["id"], customer.body["id"])

    def run(self) -> None:
        """Send transfers until :attr:`stop` is set."""
        n = 0
        while not self.stop.is_set():
            key, n = f"pay-{n}", n + 1
            request = {
                "from_account": self.settlement,
                "to_account": self.customer,
                "amount": 100 + n % 7,
                "currency": "EUR",
            }
            while True:
                try:
                    outcome = self.service.transfer(key, request)
                except StorageError:
                    # Failed or unknown: resend the same key, so the idempotency record decides.
                    self.failures += 1
                    time.sleep(0.02)
                    continue
                assert outcome.status == 201, outcome
                self.replays += outcome.replayed
                self.acked[key] = outcome.body["id"]
                self.ack_times.append((time.monotonic(), self.db.reconnects))
                break

    def resumed_after(self, killed_at: float) -> float | None:
        """Seconds from ``killed_at`` to the first acknowledgement on a new connection."""
        later = [t for t, reconnects in self.ack_times if reconnects > 0 and t > killed_at]
        return later[0] - killed_at if later else None
