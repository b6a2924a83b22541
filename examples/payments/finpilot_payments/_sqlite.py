"""SQLite storage: one file, ``payments.db``, in the data directory."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any

from finpilot_payments._db import SCHEMA, Database, Row, Tx
from finpilot_payments._errors import StorageError


class _SqliteTx:
    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn

    def all(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        return self._conn.execute(sql, tuple(params)).fetchall()

    def one(self, sql: str, params: Sequence[Any] = ()) -> Row | None:
        row: Row | None = self._conn.execute(sql, tuple(params)).fetchone()
        return row

    def run(self, sql: str, params: Sequence[Any] = ()) -> None:
        self._conn.execute(sql, tuple(params))


class SqliteDatabase(Database):
    """The ledger in a SQLite file; one connection, used by one thread at a time."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._lock = threading.Lock()
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=30)
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute("PRAGMA synchronous=FULL")
            self._conn.execute("PRAGMA foreign_keys=ON")
            with self.write() as tx:
                for statement in SCHEMA:
                    tx.run(statement)
        except (OSError, sqlite3.Error) as exc:
            raise StorageError(
                f"cannot open the SQLite database {path}: {exc}", fix="check that the data directory is writable"
            ) from None

    @property
    def description(self) -> str:
        """The database file."""
        return f"sqlite:{self._path}"

    @contextmanager
    def _transaction(self, begin: str) -> Iterator[_SqliteTx]:
        with self._lock:
            try:
                self._conn.execute(begin)
            except sqlite3.Error as exc:
                raise StorageError(f"SQLite could not begin a transaction: {exc}") from None
            try:
                yield _SqliteTx(self._conn)
            except sqlite3.Error as exc:
                self._conn.execute("ROLLBACK")
                raise StorageError(f"SQLite failed: {exc}") from None
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            try:
                self._conn.execute("COMMIT")
            except sqlite3.Error as exc:
                self._conn.execute("ROLLBACK")
                raise StorageError(f"SQLite could not commit: {exc}") from None

    def write(self) -> AbstractContextManager[Tx]:
        """A serialised read-write transaction (``BEGIN IMMEDIATE``)."""
        return self._transaction("BEGIN IMMEDIATE")

    def read(self) -> AbstractContextManager[Tx]:
        """A read transaction."""
        return self._transaction("BEGIN")

    def ping(self) -> None:
        """Run ``SELECT 1``."""
        try:
            with self._lock:
                self._conn.execute("SELECT 1").fetchone()
        except sqlite3.Error as exc:
            raise StorageError(f"SQLite is not answering: {exc}") from None

    def close(self) -> None:
        """Close the connection (this checkpoints the write-ahead log)."""
        with self._lock:
            self._conn.close()
