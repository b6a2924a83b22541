"""PostgreSQL storage: the tables live in one schema; writers serialise on an advisory lock."""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from typing import Any

import psycopg
from psycopg import sql

from finpilot_payments._db import SCHEMA, Database, Row, Tx
from finpilot_payments._errors import StorageError


def redact(dsn: str) -> str:
    """A DSN without its password, for messages."""
    try:
        info = psycopg.conninfo.conninfo_to_dict(dsn)
    except psycopg.ProgrammingError:
        return "postgresql://(unparsable DSN)"
    host = info.get("host", "localhost")
    return f"postgresql://{info.get('user', '')}@{host}:{info.get('port', 5432)}/{info.get('dbname', '')}"


class _PgTx:
    def __init__(self, conn: psycopg.Connection[Any]) -> None:
        self._conn = conn

    @staticmethod
    def _sql(text: str) -> str:
        return text.replace("?", "%s")

    def all(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        return self._conn.execute(self._sql(sql), tuple(params)).fetchall()

    def one(self, sql: str, params: Sequence[Any] = ()) -> Row | None:
        row: Row | None = self._conn.execute(self._sql(sql), tuple(params)).fetchone()
        return row

    def run(self, sql: str, params: Sequence[Any] = ()) -> None:
        self._conn.execute(self._sql(sql), tuple(params))


class PostgresDatabase(Database):
    """The ledger in a PostgreSQL schema, over one connection used by one thread at a time."""

    def __init__(self, dsn: str, schema: str) -> None:
        self._dsn = dsn
        self._schema = schema
        self._lock = threading.Lock()
        self._conn: psycopg.Connection[Any] | None = None
        with self._lock:
            conn = self._connection()
            try:
                with conn.transaction():
                    conn.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (f"finpilot_payments:{schema}",))
                    conn.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(schema)))
                    for statement in SCHEMA:
                        conn.execute(statement)
            except psycopg.Error as exc:
                raise StorageError(f"cannot create the tables in {self.description}: {type(exc).__name__}") from None

    @property
    def description(self) -> str:
        """The DSN without credentials, and the schema."""
        return f"{redact(self._dsn)} schema {self._schema}"

    def _connection(self) -> psycopg.Connection[Any]:
        if self._conn is None or self._conn.closed or self._conn.broken:
            try:
                self._conn = psycopg.connect(
                    self._dsn, autocommit=True, connect_timeout=5, options=f"-c search_path={self._schema}"
                )
            except psycopg.Error as exc:
                raise StorageError(
                    f"cannot connect to {redact(self._dsn)}: {type(exc).__name__}",
                    fix="check that PostgreSQL is running and the DSN is right",
                ) from None
        return self._conn

    @contextmanager
    def _transaction(self, *, write: bool) -> Iterator[Tx]:
        with self._lock:
            conn = self._connection()
            try:
                with conn.transaction():
                    if write:
                        conn.execute(
                            "SELECT pg_advisory_xact_lock(hashtext(%s))", (f"finpilot_payments:{self._schema}",)
                        )
                    yield _PgTx(conn)
            except psycopg.Error as exc:
                raise StorageError(f"PostgreSQL failed: {type(exc).__name__}: {exc.diag.message_primary}") from None

    def write(self) -> AbstractContextManager[Tx]:
        """A read-write transaction, serialised with every other writer on the schema."""
        return self._transaction(write=True)

    def read(self) -> AbstractContextManager[Tx]:
        """A read transaction."""
        return self._transaction(write=False)

    def ping(self) -> None:
        """Run ``SELECT 1``."""
        with self._lock:
            try:
                self._connection().execute("SELECT 1").fetchone()
            except psycopg.Error as exc:
                raise StorageError(f"PostgreSQL is not answering: {type(exc).__name__}") from None

    def close(self) -> None:
        """Close the connection."""
        with self._lock:
            if self._conn is not None:
                self._conn.close()
