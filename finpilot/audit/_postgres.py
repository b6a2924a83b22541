"""PostgreSQL backend. Entries go in with COPY; the write lock is a row lock on ``log_state``.

Failover: with a libpq multi-host DSN and ``target_session_attrs=read-write``
(``postgresql://u@h1:p1,h2:p2/db?target_session_attrs=read-write``), a lost connection is
replaced by one to whichever server is writable now, for up to ``reconnect_s`` seconds.
A write transaction records what it wrote, so that on the new connection it can take the
lock again and replay exactly that. When the connection dies during ``COMMIT`` the outcome
is unknown; the store then re-reads the log's size under the lock and looks for its own
entries at the indices it wrote: present means committed (nothing is written twice), absent
means rolled back (replayed once). Before any replay it checks that the log is where this
transaction left it (same size, and every partial tile it is about to rewrite a prefix of
the new one): another writer's append is a :class:`StorageError` (nothing committed, safe to
retry), a shorter log or a different head is an :class:`IntegrityError` (never a fork).
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator, Sequence
from typing import Any, TypeVar

import psycopg
from psycopg import sql

from finpilot.audit._entry import PersonalRow
from finpilot.audit._postgres_tx import (
    Checkpoint,
    Conn,
    Delete,
    Entries,
    Op,
    Tx,
    apply,
    check_resumable,
    landed,
    lock_size,
)
from finpilot.audit._store import Store, StoredCheckpoint, StoredPersonal
from finpilot.core import Backoff, Retry, StorageError

_SCHEMA = """
CREATE TABLE IF NOT EXISTS log_state (id INTEGER PRIMARY KEY CHECK (id = 1), size BIGINT NOT NULL);
INSERT INTO log_state (id, size) VALUES (1, 0) ON CONFLICT DO NOTHING;
CREATE TABLE IF NOT EXISTS entries (idx BIGINT PRIMARY KEY, data BYTEA NOT NULL);
CREATE TABLE IF NOT EXISTS tiles (level INTEGER NOT NULL, idx BIGINT NOT NULL, hashes BYTEA NOT NULL,
    PRIMARY KEY (level, idx));
CREATE TABLE IF NOT EXISTS checkpoints (seq BIGINT PRIMARY KEY, size BIGINT NOT NULL, root BYTEA NOT NULL,
    note TEXT NOT NULL, created_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS personal (idx BIGINT PRIMARY KEY, data_subject TEXT NOT NULL, salt BYTEA NOT NULL,
    payload BYTEA NOT NULL);
CREATE INDEX IF NOT EXISTS personal_subject ON personal (data_subject);
"""

RECONNECT_S = 30.0
"""How long a statement waits for a writable server after its connection was lost (a failover)."""
# A steady 50 ms between reconnects (multiplier 1): a failover's new primary is taken at once.
_PAUSE = Backoff(first_s=0.05, multiplier=1.0, max_s=0.05)
_RETRY = "retry; with a multi-host DSN (target_session_attrs=read-write) check that a server is writable"

T = TypeVar("T")


class _Lost(Exception):
    """The connection was lost (not an error the server answered with): reconnect and try again."""

    def __init__(self, cause: psycopg.OperationalError) -> None:
        super().__init__(type(cause).__name__)
        self.cause = cause


def _redact(dsn: str) -> str:
    # Never show a password from a DSN in an error or a description.
    try:
        info = psycopg.conninfo.conninfo_to_dict(dsn)
    except psycopg.ProgrammingError:
        return "postgresql://(unparsable DSN)"
    host = info.get("host", "localhost")
    return f"postgresql://{info.get('user', '')}@{host}:{info.get('port', 5432)}/{info.get('dbname', '')}"


def _lost(conn: Conn | None) -> bool:
    return conn is None or conn.closed or conn.broken


class PostgresStore(Store):
    """A ledger in a PostgreSQL schema; rides through a failover of a multi-host DSN (see the module docstring)."""

    def __init__(self, dsn: str, schema: str, *, reconnect_s: float = RECONNECT_S) -> None:
        self._dsn = dsn
        self._schema = schema
        self._reconnect_s = reconnect_s
        self._reconnect = Retry(attempts=None, deadline_s=reconnect_s, backoff=_PAUSE)
        self._local = threading.local()
        self._all: list[Conn] = []
        self._lock = threading.Lock()
        self.reconnects = 0
        """Lost connections dropped so far, each replaced by the next statement (a failover shows here)."""
        self.replayed = 0
        """Write transactions resumed on a new connection (their writes so far replayed): the old one died first."""
        self.landed = 0
        """Commits whose answer was lost with the connection, found already in the log (not written again)."""
        conn = self._conn()
        # Opening an existing log must be cheap (a CLI proof opens one): skip the DDL when the
        # schema's last table is already there.
        ready = conn.execute(
            "SELECT 1 FROM information_schema.tables WHERE table_schema = %s AND table_name = 'personal'", (schema,)
        ).fetchone()
        if ready:
            return
        with conn.transaction():
            # Two processes creating the schema at once would race; serialise on an advisory lock.
            conn.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (f"finpilot:{schema}",))
            conn.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(schema)))
            conn.execute(_SCHEMA)

    @property
    def description(self) -> str:
        """DSN without credentials, and the schema."""
        return f"{_redact(self._dsn)} schema {self._schema}"

    # ------------------------------------------------------------------ connections
    def _connect(self) -> Conn:
        """This thread's connection, opened if needed; raises psycopg's error when no server answers."""
        conn: Conn | None = getattr(self._local, "conn", None)
        if not _lost(conn):
            assert conn is not None
            return conn
        if conn is not None:
            self._forget(conn)
        conn = psycopg.connect(self._dsn, autocommit=True, options=f"-c search_path={self._schema}")
        self._local.conn = conn
        with self._lock:
            self._all.append(conn)
        return conn

    def _conn(self) -> Conn:
        try:
            return self._connect()
        except psycopg.Error as exc:
            raise StorageError(
                f"cannot connect to {_redact(self._dsn)}: {type(exc).__name__}",
                fix="check that PostgreSQL is running and the DSN in storage.dsn is right",
            ) from None

    def _forget(self, conn: Conn) -> None:
        """Drop a lost connection (the next statement opens a new one)."""
        with self._lock:
            self.reconnects += 1
            with contextlib.suppress(ValueError):
                self._all.remove(conn)
        with contextlib.suppress(psycopg.Error):
            conn.close()
        if getattr(self._local, "conn", None) is conn:
            self._local.conn = None

    def _retry(self, work: Callable[[Conn], T], *, unknown: bool = False) -> T:
        """Run ``work`` on this thread's connection, on a new one each time the connection is lost.

        Only a lost connection is retried, every 50 ms for ``reconnect_s`` (core's
        :class:`~finpilot.core.Retry`): an error the server answered with is raised as it is.
        ``unknown`` says a COMMIT may have happened (for the message).
        """

        def attempt() -> T:
            conn: Conn | None = None
            try:
                conn = self._connect()
                return work(conn)
            except psycopg.OperationalError as exc:
                if not _lost(conn):
                    raise
                if conn is not None:
                    self._forget(conn)
                raise _Lost(exc) from None

        try:
            return self._reconnect.call(attempt, retry_on=(_Lost,))
        except _Lost as lost:
            outcome = "the outcome of the last commit is unknown" if unknown else "nothing was committed"
            raise StorageError(
                f"lost the connection to {_redact(self._dsn)} and found no writable server for "
                f"{self._reconnect_s:g} s ({type(lost.cause).__name__}); {outcome}",
                fix=_RETRY,
            ) from None

    def _run(self, work: Callable[[Conn], T], pending: Op | None = None) -> T:
        """Run ``work``; inside a write transaction, a lost connection resumes the transaction on a new one first.

        ``pending`` is the write ``work`` makes: its tiles are checked against the new server's
        head with those already written.
        """
        tx: Tx | None = getattr(self._local, "tx", None)
        if tx is None:
            return self._retry(work)
        conn: Conn | None = getattr(self._local, "conn", None)
        if conn is not None and not _lost(conn):
            try:
                return work(conn)
            except psycopg.OperationalError:
                if not _lost(conn):
                    raise

        def resume(fresh: Conn) -> T:
            self._resume(fresh, tx, lock_size(fresh), pending)
            return work(fresh)

        return self._retry(resume)

    def _resume(self, conn: Conn, tx: Tx, size: int, pending: Op | None = None) -> None:
        """Replay ``tx`` on a new connection that holds the lock, if the log is exactly where it left it."""
        check_resumable(conn, tx, size, pending)
        for op in tx.ops:
            apply(conn, op)
        with self._lock:
            self.replayed += 1

    # ------------------------------------------------------------------ writing
    def _tx(self) -> Tx:
        tx: Tx | None = getattr(self._local, "tx", None)
        if tx is None:
            raise StorageError("no write transaction is open on this thread", fix="call begin() first")
        return tx

    def _write(self, op: Op) -> int:
        tx = self._tx()
        count = self._run(lambda conn: apply(conn, op), op)
        tx.ops.append(op)
        return count

    def begin(self) -> int:
        """Start a transaction and lock the log's state row: one writer at a time, across processes."""
        size = self._retry(lock_size)
        self._local.tx = Tx(size)
        return size

    def write_entries(
        self,
        start: int,
        data: Sequence[bytes],
        personal: Sequence[tuple[int, PersonalRow]],
        tiles: dict[tuple[int, int], bytes],
        new_size: int,
    ) -> None:
        """COPY the entries in; upsert tiles."""
        self._write(Entries(start, data, personal, tiles, new_size))

    def write_checkpoint(self, seq: int, size: int, root: bytes, note: str, created_at: str) -> None:
        """Insert a checkpoint."""
        self._write(Checkpoint(seq, size, root, note, created_at))

    def delete_personal(self, indices: Sequence[int]) -> int:
        """Delete personal rows."""
        return self._write(Delete(tuple(indices)))

    def commit(self) -> None:
        """COMMIT (durable with the server's default synchronous_commit=on, and on the synchronous standby).

        If the connection dies before the answer, the outcome is found out on a new connection
        under the lock: the transaction's writes already in the log mean it committed; absent,
        it is replayed and committed there (see the module docstring).
        """
        tx = self._tx()
        self._local.tx = None
        conn: Conn | None = getattr(self._local, "conn", None)
        if conn is not None and not _lost(conn):
            try:
                conn.execute("COMMIT")
                return
            except psycopg.OperationalError:
                if not _lost(conn):
                    raise

        def settle(fresh: Conn) -> None:
            size = lock_size(fresh)
            if all(landed(fresh, op, size) for op in tx.ops):
                fresh.execute("ROLLBACK")
                with self._lock:
                    self.landed += 1
                return
            self._resume(fresh, tx, size)
            fresh.execute("COMMIT")

        self._retry(settle, unknown=True)

    def rollback(self) -> None:
        """ROLLBACK if a transaction is open (a lost connection was rolled back by the server already)."""
        self._local.tx = None
        conn: Conn | None = getattr(self._local, "conn", None)
        if conn is None:
            return
        if _lost(conn):
            self._forget(conn)
            return
        if conn.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
            try:
                conn.execute("ROLLBACK")
            except psycopg.OperationalError:
                if not _lost(conn):
                    raise
                self._forget(conn)

    def scrub(self) -> None:
        """VACUUM FULL rewrites the table, so deleted tuples leave the heap files."""
        self._retry(lambda conn: conn.execute("VACUUM FULL personal"))

    # ------------------------------------------------------------------ reading
    def _fetch(self, query: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        return self._run(lambda conn: conn.execute(query, params).fetchall())

    def size(self) -> int:
        """Committed size."""
        return int(self._fetch("SELECT size FROM log_state WHERE id = 1")[0][0])

    def entries(self, start: int, end: int) -> list[tuple[int, bytes]]:
        """A range of entries."""
        rows = self._fetch("SELECT idx, data FROM entries WHERE idx >= %s AND idx < %s ORDER BY idx", (start, end))
        return [(int(i), bytes(d)) for i, d in rows]

    def iter_entries(self, start: int = 0, chunk: int = 65536) -> Iterator[tuple[int, bytes]]:
        """All entries from ``start`` in chunks."""
        last = start - 1
        while True:
            rows = self._fetch("SELECT idx, data FROM entries WHERE idx > %s ORDER BY idx LIMIT %s", (last, chunk))
            if not rows:
                return
            for i, d in rows:
                yield int(i), bytes(d)
            last = rows[-1][0]

    def tile(self, level: int, index: int) -> bytes | None:
        """One tile."""
        rows = self._fetch("SELECT hashes FROM tiles WHERE level = %s AND idx = %s", (level, index))
        return bytes(rows[0][0]) if rows else None

    def iter_tiles(self) -> Iterator[tuple[int, int, bytes]]:
        """All tiles."""
        for lv, ix, blob in self._fetch("SELECT level, idx, hashes FROM tiles ORDER BY level, idx"):
            yield int(lv), int(ix), bytes(blob)

    def _cps(self, query: str, params: tuple[Any, ...]) -> list[StoredCheckpoint]:
        return [
            StoredCheckpoint(int(s), int(n), bytes(r), str(t), str(c)) for s, n, r, t, c in self._fetch(query, params)
        ]

    def checkpoints(self, after_seq: int = 0, limit: int | None = None) -> list[StoredCheckpoint]:
        """Checkpoints in order."""
        return self._cps(
            "SELECT seq, size, root, note, created_at FROM checkpoints WHERE seq > %s ORDER BY seq LIMIT %s",
            (after_seq, limit),
        )

    def checkpoint_for_size(self, size: int) -> StoredCheckpoint | None:
        """First checkpoint of exactly ``size``."""
        rows = self._cps(
            "SELECT seq, size, root, note, created_at FROM checkpoints WHERE size = %s ORDER BY seq LIMIT 1",
            (size,),
        )
        return rows[0] if rows else None

    def latest_checkpoint(self) -> StoredCheckpoint | None:
        """Highest-numbered checkpoint."""
        rows = self._cps("SELECT seq, size, root, note, created_at FROM checkpoints ORDER BY seq DESC LIMIT 1", ())
        return rows[0] if rows else None

    def personal_for(self, data_subject: str) -> list[StoredPersonal]:
        """Rows about one person."""
        rows = self._fetch(
            "SELECT idx, data_subject, salt, payload FROM personal WHERE data_subject = %s ORDER BY idx",
            (data_subject,),
        )
        return [StoredPersonal(int(i), PersonalRow(s, bytes(a), bytes(p))) for i, s, a, p in rows]

    def iter_personal(self) -> Iterator[StoredPersonal]:
        """All personal rows."""
        for i, s, a, p in self._fetch("SELECT idx, data_subject, salt, payload FROM personal ORDER BY idx"):
            yield StoredPersonal(int(i), PersonalRow(s, bytes(a), bytes(p)))

    def close(self) -> None:
        """Close every connection."""
        with self._lock:
            conns, self._all = self._all, []
        for conn in conns:
            with contextlib.suppress(psycopg.Error):
                conn.close()
        self._local = threading.local()
