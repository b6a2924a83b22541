"""PostgreSQL storage: the tables live in one schema; writers serialise on an advisory lock.

Failover: give a libpq multi-host DSN with ``target_session_attrs=read-write``
(``postgresql://u@h1:p1,h2:p2/db?target_session_attrs=read-write``) and a lost connection is
replaced by one to whichever server is writable now. A transaction is retried here only
while retrying is provably safe: when the connection fails before any of the caller's
statements was sent (``BEGIN`` and the writer lock). Once the caller's work has run, a failure
is reported as :class:`StorageError`; if it struck during ``COMMIT``, the outcome is unknown,
and the client must resend the request with the same Idempotency-Key, so the stored
idempotency record (committed with the effect, or not at all) decides, never a blind re-run.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from typing import Any

import psycopg
from psycopg import sql

from finpilot_payments._db import SCHEMA, Database, Row, Tx
from finpilot_payments._errors import StorageError

_RETRY_AFTER_UNKNOWN = "resend the request with the same Idempotency-Key; it is applied at most once"


def redact(dsn: str) -> str:
    """A DSN without its password, for messages (every host of a multi-host DSN)."""
    try:
        info = psycopg.conninfo.conninfo_to_dict(dsn)
    except psycopg.ProgrammingError:
        return "postgresql://(unparsable DSN)"
    hosts = str(info.get("host", "localhost")).split(",")
    ports = str(info.get("port", "5432")).split(",")
    if len(ports) == 1:
        ports = ports * len(hosts)
    where = ",".join(f"{h}:{p}" for h, p in zip(hosts, ports, strict=False))
    return f"postgresql://{info.get('user', '')}@{where}/{info.get('dbname', '')}"


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
    """The ledger in a PostgreSQL schema, over one connection used by one thread at a time.

    ``reconnect_s`` bounds how long a transaction waits for a writable server (a failover
    in progress) before it gives up with :class:`StorageError`.
    """

    def __init__(self, dsn: str, schema: str, *, reconnect_s: float = 15.0) -> None:
        self._dsn = dsn
        self._schema = schema
        self._reconnect_s = reconnect_s
        self._lock = threading.Lock()
        self._conn: psycopg.Connection[Any] | None = None
        self._connected = False
        self.reconnects = 0
        """How many times a lost connection was replaced (a failover shows here)."""
        try:
            with self.write() as tx:
                tx.run(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(schema)).as_string(None))
                for statement in SCHEMA:
                    tx.run(statement)
        except StorageError as exc:
            raise StorageError(f"cannot create the tables in {self.description}: {exc.message}", fix=exc.fix) from None

    @property
    def description(self) -> str:
        """The DSN without credentials, and the schema."""
        return f"{redact(self._dsn)} schema {self._schema}"

    def _drop(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def _connection(self) -> psycopg.Connection[Any]:
        if self._conn is None or self._conn.closed or self._conn.broken:
            self._conn = psycopg.connect(
                self._dsn, autocommit=True, connect_timeout=5, options=f"-c search_path={self._schema}"
            )
            if self._connected:
                self.reconnects += 1
            self._connected = True
        return self._conn

    def _begin(self, *, write: bool, patient: bool = True) -> psycopg.Connection[Any]:
        """A connection with an open transaction (and the writer lock), reconnecting while that is safe."""
        deadline = time.monotonic() + (self._reconnect_s if patient else 0)
        while True:
            try:
                conn = self._connection()
                conn.execute("BEGIN")
                if write:
                    conn.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (f"finpilot_payments:{self._schema}",))
                return conn
            except psycopg.OperationalError as exc:
                # Nothing of the caller's work has been sent: whatever this connection had open is
                # rolled back by the server, so trying again on a fresh one cannot apply anything twice.
                self._drop()
                if time.monotonic() >= deadline:
                    raise StorageError(
                        f"cannot reach a writable server at {redact(self._dsn)}: {type(exc).__name__}",
                        fix="check that PostgreSQL is running and the DSN is right; then retry",
                    ) from None
                time.sleep(0.05)
            except psycopg.Error as exc:
                self._drop()
                raise StorageError(f"PostgreSQL failed: {type(exc).__name__}") from None

    @contextmanager
    def _transaction(self, *, write: bool, patient: bool = True) -> Iterator[Tx]:
        with self._lock:
            conn = self._begin(write=write, patient=patient)
            try:
                yield _PgTx(conn)
            except BaseException as exc:
                self._rollback(conn)
                if isinstance(exc, psycopg.Error):
                    primary = exc.diag.message_primary if not conn.broken else "connection lost"
                    raise StorageError(
                        f"PostgreSQL failed: {type(exc).__name__}: {primary}; nothing was committed",
                        fix=_RETRY_AFTER_UNKNOWN,
                    ) from None
                raise
            try:
                conn.execute("COMMIT")
            except psycopg.Error as exc:
                lost = conn.broken
                self._drop()
                if lost:
                    raise StorageError(
                        "the connection was lost during COMMIT: the outcome is unknown",
                        fix=_RETRY_AFTER_UNKNOWN,
                    ) from None
                raise StorageError(
                    f"PostgreSQL refused the commit: {type(exc).__name__}; nothing was committed",
                    fix=_RETRY_AFTER_UNKNOWN,
                ) from None

    def _rollback(self, conn: psycopg.Connection[Any]) -> None:
        try:
            if not conn.broken:
                conn.execute("ROLLBACK")
        except psycopg.Error:
            self._drop()
        if conn.broken:
            self._drop()

    def write(self) -> AbstractContextManager[Tx]:
        """A read-write transaction, serialised with every other writer on the schema."""
        return self._transaction(write=True)

    def read(self) -> AbstractContextManager[Tx]:
        """A read transaction."""
        return self._transaction(write=False)

    def ping(self) -> None:
        """Run ``SELECT 1`` on a writable server, trying once: a health probe must answer fast, not wait."""
        with self._transaction(write=False, patient=False) as tx:
            tx.one("SELECT 1")

    def close(self) -> None:
        """Close the connection."""
        with self._lock:
            self._drop()
