"""PostgreSQL backend. Entries go in with COPY; the write lock is a row lock on ``log_state``."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator, Sequence
from typing import Any

import psycopg
from psycopg import sql

from finpilot.audit._entry import PersonalRow
from finpilot.audit._store import Store, StoredCheckpoint, StoredPersonal
from finpilot.core import StorageError

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


def _redact(dsn: str) -> str:
    # Never show a password from a DSN in an error or a description.
    try:
        info = psycopg.conninfo.conninfo_to_dict(dsn)
    except psycopg.ProgrammingError:
        return "postgresql://(unparsable DSN)"
    host = info.get("host", "localhost")
    return f"postgresql://{info.get('user', '')}@{host}:{info.get('port', 5432)}/{info.get('dbname', '')}"


class PostgresStore(Store):
    """A ledger in a PostgreSQL schema."""

    def __init__(self, dsn: str, schema: str) -> None:
        self._dsn = dsn
        self._schema = schema
        self._local = threading.local()
        self._all: list[psycopg.Connection[Any]] = []
        self._lock = threading.Lock()
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

    def _conn(self) -> psycopg.Connection[Any]:
        conn: psycopg.Connection[Any] | None = getattr(self._local, "conn", None)
        if conn is None or conn.closed:
            try:
                conn = psycopg.connect(self._dsn, autocommit=True, options=f"-c search_path={self._schema}")
            except psycopg.Error as exc:
                raise StorageError(
                    f"cannot connect to {_redact(self._dsn)}: {type(exc).__name__}",
                    fix="check that PostgreSQL is running and the DSN in storage.dsn is right",
                ) from None
            self._local.conn = conn
            with self._lock:
                self._all.append(conn)
        return conn

    def begin(self) -> int:
        """Start a transaction and lock the log's state row: one writer at a time, across processes."""
        conn = self._conn()
        conn.execute("BEGIN")
        row = conn.execute("SELECT size FROM log_state WHERE id = 1 FOR UPDATE").fetchone()
        assert row is not None
        return int(row[0])

    def write_entries(
        self,
        start: int,
        data: Sequence[bytes],
        personal: Sequence[tuple[int, PersonalRow]],
        tiles: dict[tuple[int, int], bytes],
        new_size: int,
    ) -> None:
        """COPY the entries in; upsert tiles."""
        conn = self._conn()
        with conn.cursor() as cur:
            with cur.copy("COPY entries (idx, data) FROM STDIN") as copy:
                for i, blob in enumerate(data, start):
                    copy.write_row((i, blob))
            if personal:
                cur.executemany(
                    "INSERT INTO personal (idx, data_subject, salt, payload) VALUES (%s, %s, %s, %s)",
                    [(i, p.data_subject, p.salt, p.payload) for i, p in personal],
                )
            cur.executemany(
                "INSERT INTO tiles (level, idx, hashes) VALUES (%s, %s, %s) "
                "ON CONFLICT (level, idx) DO UPDATE SET hashes = EXCLUDED.hashes",
                [(lv, ix, blob) for (lv, ix), blob in tiles.items()],
            )
            cur.execute("UPDATE log_state SET size = %s WHERE id = 1", (new_size,))

    def write_checkpoint(self, seq: int, size: int, root: bytes, note: str, created_at: str) -> None:
        """Insert a checkpoint."""
        self._conn().execute(
            "INSERT INTO checkpoints (seq, size, root, note, created_at) VALUES (%s, %s, %s, %s, %s)",
            (seq, size, root, note, created_at),
        )

    def delete_personal(self, indices: Sequence[int]) -> int:
        """Delete personal rows."""
        cur = self._conn().execute("DELETE FROM personal WHERE idx = ANY(%s)", (list(indices),))
        return cur.rowcount

    def commit(self) -> None:
        """COMMIT (durable with the server's default synchronous_commit=on)."""
        self._conn().execute("COMMIT")

    def rollback(self) -> None:
        """ROLLBACK if a transaction is open."""
        conn = self._conn()
        if conn.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
            conn.execute("ROLLBACK")

    def scrub(self) -> None:
        """VACUUM FULL rewrites the table, so deleted tuples leave the heap files."""
        self._conn().execute("VACUUM FULL personal")

    def size(self) -> int:
        """Committed size."""
        row = self._conn().execute("SELECT size FROM log_state WHERE id = 1").fetchone()
        assert row is not None
        return int(row[0])

    def entries(self, start: int, end: int) -> list[tuple[int, bytes]]:
        """A range of entries."""
        rows = self._conn().execute(
            "SELECT idx, data FROM entries WHERE idx >= %s AND idx < %s ORDER BY idx", (start, end)
        )
        return [(int(i), bytes(d)) for i, d in rows]

    def iter_entries(self, start: int = 0, chunk: int = 65536) -> Iterator[tuple[int, bytes]]:
        """All entries from ``start`` in chunks."""
        conn = self._conn()
        last = start - 1
        while True:
            rows = conn.execute(
                "SELECT idx, data FROM entries WHERE idx > %s ORDER BY idx LIMIT %s", (last, chunk)
            ).fetchall()
            if not rows:
                return
            for i, d in rows:
                yield int(i), bytes(d)
            last = rows[-1][0]

    def tile(self, level: int, index: int) -> bytes | None:
        """One tile."""
        row = self._conn().execute("SELECT hashes FROM tiles WHERE level = %s AND idx = %s", (level, index)).fetchone()
        return None if row is None else bytes(row[0])

    def iter_tiles(self) -> Iterator[tuple[int, int, bytes]]:
        """All tiles."""
        for lv, ix, blob in self._conn().execute("SELECT level, idx, hashes FROM tiles ORDER BY level, idx"):
            yield int(lv), int(ix), bytes(blob)

    def _cps(self, query: str, params: tuple[Any, ...]) -> list[StoredCheckpoint]:
        rows = self._conn().execute(query, params).fetchall()
        return [StoredCheckpoint(int(s), int(n), bytes(r), str(t), str(c)) for s, n, r, t, c in rows]

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
        rows = self._conn().execute(
            "SELECT idx, data_subject, salt, payload FROM personal WHERE data_subject = %s ORDER BY idx",
            (data_subject,),
        )
        return [StoredPersonal(int(i), PersonalRow(s, bytes(a), bytes(p))) for i, s, a, p in rows]

    def iter_personal(self) -> Iterator[StoredPersonal]:
        """All personal rows."""
        for i, s, a, p in self._conn().execute("SELECT idx, data_subject, salt, payload FROM personal ORDER BY idx"):
            yield StoredPersonal(int(i), PersonalRow(s, bytes(a), bytes(p)))

    def close(self) -> None:
        """Close every connection."""
        with self._lock:
            conns, self._all = self._all, []
        for conn in conns:
            with contextlib.suppress(psycopg.Error):
                conn.close()
        self._local = threading.local()
