"""Lost and duplicated payments: a drill's client records checked against the payments database itself.

The reference payments service keeps its ledger in SQLite (``payments.db``) or, for the
``db-primary-down`` fault, in a PostgreSQL schema (``payments``) on the HA pair; the tables are
the same (``examples/payments/finpilot_payments/_db.py``). finpilot never imports that example:
the checks below are SQL on the file (opened read-only) or on the writable server of the pair
(:func:`check_payments_pg`, through the multi-host DSN, so it reads the *new* primary after a
failover), so they test what is stored and not what the service's code believes it stored.

* **lost**: acknowledged by the service (2xx with an id) but absent from the database, or
  present with other accounts or another amount than were requested;
* **duplicated**: one request (one idempotency key) that left more than one row: the drill
  gives every request of a run its own amount, so a second transfer or authorization with the
  same accounts and amount is a duplicate; also a stored idempotency response whose id is not
  the id the client was given (the key produced two different results);
* **unbalanced**: a transaction whose postings do not sum to zero, an account whose balance is
  not the sum of its postings, or a currency whose balances do not sum to zero.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import sqlite3
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

from finpilot.core import NotFoundError, StorageError
from finpilot.heal._chaos._traffic import RequestRecord

_EXAMPLES = 5
_Rows = Callable[[str], list[tuple[Any, ...]]]


@dataclass
class PaymentsCheck:
    """What the payments database says about a drill's requests (see the module docstring)."""

    requests: int = 0
    acked: int = 0
    failed: int = 0
    lost: int = 0
    duplicated: int = 0
    unbalanced: int = 0
    committed_unacked: int = 0
    examples: list[str] = field(default_factory=list)

    def _note(self, text: str) -> None:
        if len(self.examples) < _EXAMPLES:
            self.examples.append(text)

    def to_json(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "requests": self.requests,
            "acked": self.acked,
            "failed": self.failed,
            "lost": self.lost,
            "duplicated": self.duplicated,
            "unbalanced": self.unbalanced,
            "committed_unacked": self.committed_unacked,
            "examples": list(self.examples),
        }


def _connect(path: Path) -> sqlite3.Connection:
    if not path.is_file():
        raise NotFoundError(f"no payments database at {path}", fix="run the drill's stack first")
    try:
        return sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=30)
    except sqlite3.Error as exc:
        raise StorageError(f"cannot open the payments database {path}: {exc}") from None


def _key_digest(secret: bytes, key: str) -> str:
    # The service stores keys only as HMAC(secret, "key:" + key) (finpilot_payments._idempotency).
    return hmac.new(secret, b"key:" + key.encode(), hashlib.sha256).hexdigest()


def check_payments(path: Path, records: Iterable[RequestRecord]) -> PaymentsCheck:
    """Count lost, duplicated and unbalanced payments for ``records`` in the database at ``path``."""
    report = PaymentsCheck()
    conn = _connect(path)
    try:
        return _check(lambda text: conn.execute(text).fetchall(), list(records), report)
    except sqlite3.Error as exc:
        raise StorageError(f"cannot read the payments database {path}: {exc}") from None
    finally:
        conn.close()


def check_payments_pg(dsn: str, records: Iterable[RequestRecord], *, schema: str = "payments") -> PaymentsCheck:
    """As :func:`check_payments`, on the PostgreSQL schema the payments service wrote through ``dsn``.

    One read-only repeatable-read transaction, so every figure comes from one snapshot. Errors
    name the server set, never the DSN's credentials.
    """
    report = PaymentsCheck()
    try:
        with psycopg.connect(dsn, connect_timeout=5) as conn:
            conn.read_only = True
            conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
            conn.execute(sql.SQL("SET LOCAL search_path TO {}").format(sql.Identifier(schema)))

            def rows(text: str) -> list[tuple[Any, ...]]:
                return list(conn.execute(text.encode()).fetchall())

            return _check(rows, list(records), report)
    except psycopg.Error as exc:
        raise StorageError(
            f"cannot read the payments schema {schema!r} on PostgreSQL: {type(exc).__name__}",
            fix="check that the pair is up (`finpilot db status`)",
        ) from None


def _check(rows_of: _Rows, records: list[RequestRecord], report: PaymentsCheck) -> PaymentsCheck:
    report.requests = len(records)
    report.acked = sum(r.acked for r in records)
    report.failed = report.requests - report.acked
    # Transfers as (txn id -> (from, to, amount)); a transfer has one negative and one positive leg.
    transfers: dict[str, tuple[str, str, int]] = {}
    rows = rows_of(
        "SELECT t.id, p.account_id, p.amount FROM transactions t JOIN postings p ON p.txn_id = t.id "
        "WHERE t.kind = 'transfer' ORDER BY t.id, p.seq"
    )
    legs: dict[str, list[tuple[str, int]]] = {}
    for txn, account, amount in rows:
        legs.setdefault(txn, []).append((account, int(amount)))
    for txn, pair in legs.items():
        debit = [a for a, amt in pair if amt < 0]
        credit = [(a, amt) for a, amt in pair if amt > 0]
        if len(debit) == 1 and len(credit) == 1:
            transfers[txn] = (debit[0], credit[0][0], credit[0][1])
    auths = {
        row[0]: (row[1], row[2], int(row[3]))
        for row in rows_of("SELECT id, account_id, merchant_id, amount FROM authorizations")
    }
    copies: dict[tuple[str, str, str, int], int] = {}
    for op, found in (("transfer", transfers), ("authorize", auths)):
        for source, target, amount in found.values():
            sig = (op, source, target, amount)
            copies[sig] = copies.get(sig, 0) + 1

    secret_rows = rows_of("SELECT value FROM meta WHERE name = 'idempotency_secret'")
    secret = bytes.fromhex(secret_rows[0][0]) if secret_rows else None
    stored: dict[str, str] = {}
    if secret is not None:
        stored = {row[0]: row[1] for row in rows_of("SELECT key, body FROM idempotency")}

    for r in records:
        sig = (r.op, r.source, r.target, r.amount)
        if copies.get(sig, 0) > 1:
            report.duplicated += 1
            report._note(f"duplicated: {r.op} key {r.key} left {copies[sig]} rows")
        digest = _key_digest(secret, r.key) if secret is not None else None
        body = stored.get(digest) if digest is not None else None
        if r.acked:
            rows_for_op = transfers if r.op == "transfer" else auths
            if rows_for_op.get(str(r.id)) != (r.source, r.target, r.amount):
                report.lost += 1
                report._note(f"lost: {r.op} key {r.key} acknowledged as {r.id} but not in the ledger as sent")
            elif body is not None and _body_id(body) != r.id:
                report.duplicated += 1
                report._note(f"duplicated: key {r.key} stored another result than the one acknowledged")
        elif copies.get(sig, 0) >= 1 or body is not None:
            report.committed_unacked += 1

    report.unbalanced = _unbalanced(rows_of, report)
    return report


def _body_id(body: str) -> str | None:
    try:
        parsed = json.loads(body)
    except ValueError:
        return None
    return parsed.get("id") if isinstance(parsed, dict) else None


def _unbalanced(rows_of: _Rows, report: PaymentsCheck) -> int:
    problems = 0
    for txn, total in rows_of("SELECT txn_id, SUM(amount) FROM postings GROUP BY txn_id HAVING SUM(amount) <> 0"):
        problems += 1
        report._note(f"unbalanced: transaction {txn} sums to {total}")
    for account, balance, posted in rows_of(
        "SELECT a.id, a.balance, COALESCE((SELECT SUM(amount) FROM postings p WHERE p.account_id = a.id), 0) "
        "FROM accounts a"
    ):
        if balance != posted:
            problems += 1
            report._note(f"unbalanced: account {account} balance {balance} but postings sum to {posted}")
    for currency, total in rows_of("SELECT currency, SUM(balance) FROM accounts GROUP BY currency"):
        if total != 0:
            problems += 1
            report._note(f"unbalanced: {currency} balances sum to {total}")
    return problems
