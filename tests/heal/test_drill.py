"""``finpilot chaos drill``: a short drill under payment traffic, and lost/duplicated accounting on a built database."""

from __future__ import annotations

import hashlib
import hmac
import json
import sqlite3
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
from finpilot_payments._db import SCHEMA
from typer.testing import CliRunner

from finpilot.audit import Entry, open_ledger
from finpilot.cli import app
from finpilot.core import InputError, Settings
from finpilot.heal import default_faults, run_chaos_drill
from finpilot.heal._chaos._faults import DrillStack, Fault, Injected
from finpilot.heal._chaos._ledger import check_payments
from finpilot.heal._chaos._traffic import RequestRecord

SECRET = bytes(range(32))


# ---------------------------------------------------------------------- accounting on a constructed database
def _digest(key: str) -> str:
    return hmac.new(SECRET, b"key:" + key.encode(), hashlib.sha256).hexdigest()


def _payments_db(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None)
    for statement in SCHEMA:
        conn.execute(statement)
    conn.execute("INSERT INTO meta VALUES ('idempotency_secret', ?)", (SECRET.hex(),))
    for acct, kind in (("set", "settlement"), ("cus", "customer"), ("mer", "merchant")):
        conn.execute("INSERT INTO accounts VALUES (?, ?, 'EUR', 0, 0, 0, 0, 'now')", (acct, kind))
    return conn


def _transfer(conn: sqlite3.Connection, txn: str, amount: int, key: str | None) -> None:
    conn.execute("INSERT INTO transactions VALUES (?, 'transfer', NULL, 'now')", (txn,))
    conn.execute("INSERT INTO postings VALUES (?, 0, 'set', ?, 'EUR')", (txn, -amount))
    conn.execute("INSERT INTO postings VALUES (?, 1, 'cus', ?, 'EUR')", (txn, amount))
    conn.execute("UPDATE accounts SET balance = balance - ? WHERE id = 'set'", (amount,))
    conn.execute("UPDATE accounts SET balance = balance + ? WHERE id = 'cus'", (amount,))
    if key is not None:
        body = json.dumps({"id": txn, "amount": amount})
        conn.execute("INSERT INTO idempotency VALUES (?, 'fp', 201, ?, 'now')", (_digest(key), body))


def _authorization(conn: sqlite3.Connection, auth: str, amount: int, key: str) -> None:
    conn.execute(
        "INSERT INTO authorizations VALUES "
        "(?, 'cus', 'mer', 'tok', '0000', ?, 'EUR', 'authorized', 0, 0, 0, '{}', 'now')",
        (auth, amount),
    )
    conn.execute("INSERT INTO idempotency VALUES (?, 'fp', 201, ?, 'now')", (_digest(key), json.dumps({"id": auth})))


def _record(op: str, key: str, amount: int, status: int | None, ident: str | None) -> RequestRecord:
    source, target = ("set", "cus") if op == "transfer" else ("cus", "mer")
    return RequestRecord(op, key, amount, source, target, 1.0, 1.1, status, ident, None if ident else "HTTP 502")


def test_accounting_counts_acknowledged_but_missing_and_duplicated_payments(tmp_path: Path) -> None:
    db = tmp_path / "payments.db"
    conn = _payments_db(db)
    _transfer(conn, "txn-ok", 1, "k1")  # acknowledged and stored once: fine
    # k2 was acknowledged as txn-gone, which is not in the ledger: lost.
    _transfer(conn, "txn-dup-a", 3, "k3")  # k3 left two transactions with the same accounts and amount
    _transfer(conn, "txn-dup-b", 3, None)
    _authorization(conn, "auth-ok", 4, "k4")
    _transfer(conn, "txn-late", 5, "k5")  # the client saw a 502, but the payment committed: not lost
    _transfer(conn, "txn-other", 6, "k6")  # the key's stored result is not what the client was given
    conn.close()
    records = [
        _record("transfer", "k1", 1, 201, "txn-ok"),
        _record("transfer", "k2", 2, 201, "txn-gone"),
        _record("transfer", "k3", 3, 201, "txn-dup-a"),
        _record("authorize", "k4", 4, 201, "auth-ok"),
        _record("transfer", "k5", 5, None, None),
        _record("transfer", "k6", 6, 201, "txn-unknown"),
    ]
    report = check_payments(db, records)
    assert (report.requests, report.acked, report.failed) == (6, 5, 1)
    # k2 is missing; k6's acknowledged id is not in the ledger either (what the client holds is what counts).
    assert report.lost == 2
    assert report.duplicated == 1
    assert report.committed_unacked == 1
    assert report.unbalanced == 0
    assert any("k2" in e for e in report.examples)
    assert any("k3" in e for e in report.examples)


def test_accounting_counts_a_stored_result_that_differs_and_unbalanced_postings(tmp_path: Path) -> None:
    db = tmp_path / "payments.db"
    conn = _payments_db(db)
    _transfer(conn, "txn-a", 7, None)
    # The key's stored response names another transaction than the one the client was given.
    conn.execute("INSERT INTO idempotency VALUES (?, 'fp', 201, ?, 'now')", (_digest("k7"), '{"id": "txn-b"}'))
    conn.execute("INSERT INTO transactions VALUES ('bad', 'transfer', NULL, 'now')")
    conn.execute("INSERT INTO postings VALUES ('bad', 0, 'set', -5, 'EUR')")  # one leg only: sums to -5
    conn.execute("UPDATE accounts SET balance = balance - 5 WHERE id = 'set'")
    conn.close()
    report = check_payments(db, [_record("transfer", "k7", 7, 201, "txn-a")])
    assert report.lost == 0
    assert report.duplicated == 1
    # The lone leg: its transaction does not sum to zero, and neither do the currency's balances.
    assert report.unbalanced == 2


def test_unknown_fault_and_bad_trials_are_refused_before_anything_starts(tmp_path: Path) -> None:
    with pytest.raises(InputError) as caught:
        run_chaos_drill(faults=["kill", "meteor"], scratch=tmp_path)
    assert caught.value.field == "faults"
    assert "meteor" in str(caught.value)
    with pytest.raises(InputError) as caught:
        run_chaos_drill(trials=0, scratch=tmp_path)
    assert caught.value.field == "trials"
    assert not (tmp_path / "runtime").exists()
    result = CliRunner().invoke(app, ["--data-dir", str(tmp_path / "d"), "chaos", "drill", "--faults", "meteor"])
    assert result.exit_code == 2
    assert "meteor" in result.output


# ---------------------------------------------------------------------- a short real drill
class _NeverRecovers:
    """A harmless injection (0 ms of latency) that awaits a recovery no entry will ever show."""

    name = "never"
    trials = 1
    heals = True
    fresh_stack = False
    timeout_s = 0.5

    def inject(self, stack: DrillStack, trial: int) -> Injected:
        del trial
        stack.controller.chaos_latency("payments", 0)
        return Injected(self.name, "payments", frozenset({"payments/9"}))

    def detects(self, entry: Mapping[str, Any], injected: Injected) -> bool:
        del injected
        return entry.get("kind") == "chaos.inject"

    def recovers(self, entry: Mapping[str, Any], injected: Injected) -> str | None:
        del entry, injected
        return None

    def undo(self, stack: DrillStack, injected: Injected) -> None:
        del stack, injected


@pytest.mark.slow
def test_short_drill_under_traffic_loses_and_duplicates_nothing(tmp_path: Path) -> None:
    faults = default_faults()
    faults["kill"].trials = 2
    faults["hang"].trials = 1
    registry: dict[str, Fault] = {"kill": faults["kill"], "hang": faults["hang"], "never": _NeverRecovers()}
    audited: list[Entry] = []
    report = run_chaos_drill(rate=60, scratch=tmp_path / "drill", registry=registry, audit=audited.append)
    data: dict[str, Any] = report.to_json()

    assert set(data["faults"]) == {"kill", "hang", "never"}
    for name, trials in (("kill", 2), ("hang", 1)):
        f = data["faults"][name]
        assert f["trials"] == f["recovered"] == trials, f
        assert f["detection_s"]["n"] == f["recovery_s"]["n"] == trials
        assert 0 < f["detection_s"]["p50"] <= f["recovery_s"]["p50"] < 15
        assert f["detection_s"]["max"] <= f["recovery_s"]["max"]
        assert f["requests"] > 50
        assert f["rate_per_s"] > 20
        # Router retries hide the replica's death from every client; the ledger holds every acknowledged payment once.
        assert (f["failed"], f["lost"], f["duplicated"]) == (0, 0, 0), f["examples"]
        assert f["anchors"]["k8s_liveness_restart"]["anchor_s"] == 30
    # The hang is found by the liveness probe: three failed probes at least 0.25 s apart.
    assert data["faults"]["hang"]["detection_s"]["p50"] >= 0.5
    assert data["payments_ledger"]["unbalanced"] == 0
    assert data["audit"]["verified"] is True
    assert data["audit"]["chaos_inject_entries"] == 4
    assert data["anchors"]["k8s_dead_node"]["seconds"] == 350

    # A trial that does not recover within its fault's timeout fails the drill, and nothing else did.
    never = data["faults"]["never"]
    assert (never["trials"], never["recovered"], never["recovery_s"]["n"], never["failed"]) == (1, 0, 0, 0)
    assert [f.fault for f in report.faults if not f.ok] == ["never"]
    assert not report.ok
    assert data["ok"] is False

    # The summary is audited, and carries counts and seconds only.
    (entry,) = audited
    assert (entry.kind, entry.outcome) == ("chaos.drill", "failed")
    assert entry.evidence["faults"]["kill"]["lost"] == 0
    # The payments database the figures came from is where the drill said.
    assert (tmp_path / "drill" / "payments" / "payments.db").is_file()


@pytest.mark.slow
def test_cli_prints_json_exits_0_and_audits_the_summary(tmp_path: Path) -> None:
    home = tmp_path / "home"
    args = ["--data-dir", str(home), "chaos", "drill", "--faults", "disk-full", "--trials", "1", "--rate", "30"]
    result = CliRunner().invoke(app, [*args, "--json"])
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert out["ok"] is True
    assert out["faults"]["disk-full"]["detection_s"]["n"] == 1
    assert out["scratch"] is None  # the temporary stack directory was removed
    ledger = open_ledger(Settings(data_dir=home))
    try:
        kinds = [e.fields["kind"] for e in ledger.tail(10)]
    finally:
        ledger.close()
    assert "chaos.drill" in kinds
