"""The storage interface: a database that runs short transactions, on SQLite or PostgreSQL.

SQL is written once, with ``?`` placeholders and types both engines share. Write transactions
are serialised (SQLite ``BEGIN IMMEDIATE``; PostgreSQL a transaction-scoped advisory lock),
so balance checks and the postings they guard can never interleave, even across processes.
"""

from __future__ import annotations

import abc
from collections.abc import Sequence
from contextlib import AbstractContextManager
from typing import Any, Protocol

Row = tuple[Any, ...]

SCHEMA = [
    "CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT NOT NULL)",
    """CREATE TABLE IF NOT EXISTS accounts (
        id TEXT PRIMARY KEY, kind TEXT NOT NULL, currency TEXT NOT NULL, overdraft_limit BIGINT NOT NULL,
        frozen INTEGER NOT NULL, balance BIGINT NOT NULL, held BIGINT NOT NULL, created_at TEXT NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS cards (
        token TEXT PRIMARY KEY, account_id TEXT NOT NULL REFERENCES accounts (id), last4 TEXT NOT NULL,
        created_at TEXT NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS transactions (
        id TEXT PRIMARY KEY, kind TEXT NOT NULL, reference TEXT, created_at TEXT NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS postings (
        txn_id TEXT NOT NULL REFERENCES transactions (id), seq INTEGER NOT NULL,
        account_id TEXT NOT NULL REFERENCES accounts (id), amount BIGINT NOT NULL, currency TEXT NOT NULL,
        PRIMARY KEY (txn_id, seq))""",
    "CREATE INDEX IF NOT EXISTS postings_account ON postings (account_id)",
    """CREATE TABLE IF NOT EXISTS authorizations (
        id TEXT PRIMARY KEY, account_id TEXT NOT NULL REFERENCES accounts (id),
        merchant_id TEXT NOT NULL REFERENCES accounts (id), card_token TEXT NOT NULL, card_last4 TEXT NOT NULL,
        amount BIGINT NOT NULL, currency TEXT NOT NULL, status TEXT NOT NULL, captured BIGINT NOT NULL,
        refunded BIGINT NOT NULL, flagged INTEGER NOT NULL, decision TEXT NOT NULL, created_at TEXT NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS idempotency (
        key TEXT PRIMARY KEY, fingerprint TEXT NOT NULL, status INTEGER NOT NULL, body TEXT NOT NULL,
        created_at TEXT NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS api_tokens (
        id TEXT PRIMARY KEY, name TEXT NOT NULL UNIQUE, scopes TEXT NOT NULL, secret_sha256 TEXT NOT NULL,
        created_at TEXT NOT NULL, revoked_at TEXT)""",
]
"""The tables, in creation order (both engines)."""

TABLES = ("meta", "accounts", "cards", "transactions", "postings", "authorizations", "idempotency", "api_tokens")
"""Every table the service owns."""


class Tx(Protocol):
    """One open transaction."""

    def all(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        """Run a query and return every row."""
        ...

    def one(self, sql: str, params: Sequence[Any] = ()) -> Row | None:
        """Run a query and return its first row, or ``None``."""
        ...

    def run(self, sql: str, params: Sequence[Any] = ()) -> None:
        """Run a statement."""
        ...


class Database(abc.ABC):
    """A database the service keeps its ledger in."""

    @property
    @abc.abstractmethod
    def description(self) -> str:
        """Where the data lives, without credentials."""

    @abc.abstractmethod
    def write(self) -> AbstractContextManager[Tx]:
        """A serialised read-write transaction; committed on success, rolled back on an exception."""

    @abc.abstractmethod
    def read(self) -> AbstractContextManager[Tx]:
        """A read-only transaction."""

    @abc.abstractmethod
    def ping(self) -> None:
        """Raise :class:`~finpilot_payments.StorageError` when the database is unreachable."""

    @abc.abstractmethod
    def close(self) -> None:
        """Release connections."""


def table_rows(db: Database, table: str) -> list[Row]:
    """Every row of one of :data:`TABLES` (for tests, audits and dumps)."""
    if table not in TABLES:
        raise ValueError(f"unknown table {table!r}")
    with db.read() as tx:
        return tx.all(f"SELECT * FROM {table}")  # nosec B608  # noqa: S608 - the name is one of TABLES
