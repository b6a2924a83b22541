"""``db-primary-down`` in ``finpilot chaos drill``: a short real drill on a PostgreSQL pair, and its parts.

No skip anywhere: missing PostgreSQL binaries, or no server at the test DSN, fail these tests.
"""

from __future__ import annotations

import http.server
import json
import threading
import uuid
from collections.abc import Iterator
from typing import Any, ClassVar

import psycopg
import pytest
from finpilot_payments._db import SCHEMA
from psycopg import sql

from finpilot.audit import Entry
from finpilot.heal import run_chaos_drill
from finpilot.heal._chaos._client import _Client, _send
from finpilot.heal._chaos._db import DbPrimaryDown, pg_unavailable
from finpilot.heal._chaos._faults import Injected
from finpilot.heal._chaos._ledger import check_payments_pg
from finpilot.heal._chaos._traffic import RequestRecord


# ---------------------------------------------------------------------- timing from the ledger and the traffic record
def _record(t0: float, t1: float, status: int | None, attempts: int = 1) -> RequestRecord:
    ident = "txn" if status == 201 else None
    return RequestRecord("transfer", f"k{t0}", 1, "a", "b", t0, t1, status, ident, None, attempts)


def test_writes_resumed_counts_only_payments_sent_after_the_kill_and_recovery_waits_for_both() -> None:
    fault = DbPrimaryDown()
    injected = Injected(fault.name, "db:pg_a", frozenset({"failover", "rejoin"}))
    entries: list[dict[str, Any]] = [
        {"kind": "chaos.inject", "_t": 100.0},
        {"kind": "db.fence", "subject": "db:pg_a", "outcome": "ok", "_t": 101.2},
        {"kind": "db.failover", "outcome": "ok", "evidence": {"from": "pg_a"}, "_t": 101.6},
        {"kind": "db.rejoin", "outcome": "ok", "evidence": {}, "_t": 103.0},
        {"kind": "db.sync", "action": "synchronous", "outcome": "ok", "evidence": {"standby": "pg_a"}, "_t": 103.5},
    ]
    records = [
        _record(99.9, 100.05, 201),  # sent before the kill, answered after it: says nothing about the new primary
        _record(100.2, 101.9, 201, attempts=2),
        _record(100.3, 101.8, 201),
    ]
    timing = fault.timing(injected, entries, records)
    assert timing.detection_s == pytest.approx(1.2)
    assert timing.writes_resumed_s == pytest.approx(1.8)
    assert timing.recovery_s == pytest.approx(1.8)  # the later of writes resumed (1.8) and failover (1.6)
    assert timing.rejoin_s == pytest.approx(3.5)
    assert timing.recovered

    # Without the rejoin the trial has not recovered; without any write after the kill there is no recovery time.
    assert not fault.timing(injected, entries[:-1], records).recovered
    alone = fault.timing(injected, entries, records[:1])
    assert (alone.writes_resumed_s, alone.recovery_s, alone.recovered) == (None, None, False)
    # Another node's failover is not this trial's.
    assert fault.recovers({"kind": "db.failover", "outcome": "ok", "evidence": {"from": "pg_b"}}, injected) is None


def test_without_postgres_binaries_the_fault_is_reported_as_skipped_with_the_reason(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("finpilot.heal._chaos._drill.pg_unavailable", lambda: "PostgreSQL binaries not found: test")
    audited: list[Entry] = []
    report = run_chaos_drill(faults=["db-primary-down"], trials=1, audit=audited.append)
    data = report.to_json()
    assert data["skipped"] == {"db-primary-down": "PostgreSQL binaries not found: test"}
    assert data["faults"]["db-primary-down"]["trials"] == 0
    assert audited[0].evidence["faults"]["db-primary-down"]["skipped"].startswith("PostgreSQL binaries")


# ---------------------------------------------------------------------- the client resends with the same key
class _Flaky(http.server.BaseHTTPRequestHandler):
    keys: ClassVar[list[str]] = []

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers["Content-Length"]))
        self.keys.append(self.headers["Idempotency-Key"])
        status, body = (503, b"{}") if len(self.keys) < 3 else (201, b'{"id": "txn-1"}')
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        del args


@pytest.fixture
def flaky() -> Iterator[int]:
    _Flaky.keys = []
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Flaky)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield int(server.server_address[1])
    server.shutdown()
    server.server_close()


def test_client_resends_a_503_with_the_same_key_only_when_asked(flaky: int) -> None:
    accounts = {"settlement": "s", "customer": "c", "merchant": "m", "card": "t"}
    client = _Client("127.0.0.1", flaky)
    once = _send(client, "r", 0, accounts)
    assert (once.status, once.acked, once.attempts, once.error) == (503, False, 1, "HTTP 503")
    _Flaky.keys = []
    record = _send(client, "r", 0, accounts, retry_s=5.0)
    client.close()
    assert (record.status, record.id, record.attempts) == (201, "txn-1", 3)
    assert record.acked
    assert _Flaky.keys == ["drill-r-0"] * 3
    assert RequestRecord.from_json(json.loads(json.dumps(record.to_json()))) == record


# ---------------------------------------------------------------------- lost / duplicated on PostgreSQL
@pytest.fixture
def pg_schema(pg_dsn: str) -> Iterator[str]:
    schema = f"drill_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(pg_dsn, autocommit=True, connect_timeout=5) as conn:
        conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
        conn.execute(sql.SQL("SET search_path TO {}").format(sql.Identifier(schema)))
        for statement in SCHEMA:
            conn.execute(statement.encode())
        for acct, kind in (("set", "settlement"), ("cus", "customer")):
            conn.execute("INSERT INTO accounts VALUES (%s, %s, 'EUR', 0, 0, 0, 0, 'now')", (acct, kind))
        for txn, amount in (("txn-ok", 1), ("txn-dup-a", 3), ("txn-dup-b", 3)):
            conn.execute("INSERT INTO transactions VALUES (%s, 'transfer', NULL, 'now')", (txn,))
            conn.execute("INSERT INTO postings VALUES (%s, 0, 'set', %s, 'EUR')", (txn, -amount))
            conn.execute("INSERT INTO postings VALUES (%s, 1, 'cus', %s, 'EUR')", (txn, amount))
            conn.execute("UPDATE accounts SET balance = balance - %s WHERE id = 'set'", (amount,))
            conn.execute("UPDATE accounts SET balance = balance + %s WHERE id = 'cus'", (amount,))
        conn.execute("UPDATE accounts SET balance = balance + 1 WHERE id = 'cus'")  # one unit from nowhere
    try:
        yield schema
    finally:
        with psycopg.connect(pg_dsn, autocommit=True, connect_timeout=5) as conn:
            conn.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(schema)))


def test_postgres_accounting_counts_lost_duplicated_and_unbalanced(pg_dsn: str, pg_schema: str) -> None:
    records = [
        RequestRecord("transfer", "k1", 1, "set", "cus", 1.0, 1.1, 201, "txn-ok", None),
        RequestRecord("transfer", "k2", 2, "set", "cus", 1.0, 1.1, 201, "txn-gone", None),
        RequestRecord("transfer", "k3", 3, "set", "cus", 1.0, 1.1, 201, "txn-dup-a", None),
    ]
    report = check_payments_pg(pg_dsn, records, schema=pg_schema)
    assert (report.requests, report.acked, report.lost, report.duplicated) == (3, 3, 1, 1)
    # The customer's balance is one above its postings, and EUR balances no longer sum to zero.
    assert report.unbalanced == 2


# ---------------------------------------------------------------------- a short real drill
@pytest.mark.postgres
@pytest.mark.slow
def test_short_db_primary_down_drill_loses_nothing_and_recovers_within_5_s() -> None:
    assert pg_unavailable() is None, "PostgreSQL binaries are needed for db-primary-down (no skip)"
    audited: list[Entry] = []
    report = run_chaos_drill(faults=["db-primary-down"], trials=2, rate=60, audit=audited.append)
    data: dict[str, Any] = report.to_json()
    f = data["faults"]["db-primary-down"]
    assert f["skipped"] is None
    assert f["storage"] == "postgresql"
    assert f["trials"] == f["recovered"] == 2, f["notes"]
    assert (f["failed"], f["lost"], f["duplicated"]) == (0, 0, 0), f["examples"]
    assert f["requests"] > 100
    # Sanity bounds (~1.3 s detection, ~1.6 s recovery and writes resumed, measured); the < 5 s targets are
    # bench/heal/bench_drill.py's (db_recovery_p95, db_writes_resumed_p95).
    assert 0 < f["detection_s"]["max"] <= f["recovery_s"]["max"] < 15
    assert f["writes_resumed_s"]["max"] < 15
    assert f["recovery_s"]["max"] < f["rejoin_s"]["max"] < 60
    assert f["anchors"]["patroni_failover"]["anchor_s"] == 30
    assert data["payments_ledger"]["unbalanced"] == 0
    assert data["audit"]["verified"] is True
    assert data["audit"]["chaos_inject_entries"] == 2
    assert data["stack"]["db"]["check"].startswith("every 0.5 s")
    assert report.ok
    assert audited[0].outcome == "passed"
