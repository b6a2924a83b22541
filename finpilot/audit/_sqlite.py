"""SQLite backend: the embedded default. WAL mode, ``synchronous=FULL`` so a commit is on disk."""

from __future__ import annotations

import contextlib
import sqlite3
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

from finpilot.audit._entry import PersonalRow
from finpilot.audit._store import Store, StoredCheckpoint, StoredPersonal
from finpilot.core import IntegrityError, StorageError, private_dir, private_file

_BUSY_S = 60.0  # how long a writer waits for another process's write lock before it fails

_SCHEMA = """
CREATE TABLE IF NOT EXISTS log_state (id INTEGER PRIMARY KEY CHECK (id = 1), size INTEGER NOT NULL);
INSERT OR IGNORE INTO log_state (id, size) VALUES (1, 0);
CREATE TABLE IF NOT EXISTS entries (idx INTEGER PRIMARY KEY, data BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS tiles (
    level INTEGER NOT NULL, idx INTEGER NOT NULL, hashes BLOB NOT NULL, PRIMARY KEY (level, idx)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS checkpoints (
    seq INTEGER PRIMARY KEY, size INTEGER NOT NULL, root BLOB NOT NULL, note TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS personal (
    idx INTEGER PRIMARY KEY, data_subject TEXT NOT NULL, salt BLOB NOT NULL, payload BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS personal_subject ON personal (data_subject);
"""


def _blob(value: object) -> bytes:
    # SQLite columns are loosely typed: a row edited by hand may come back as TEXT or INTEGER.
    # Verification must then report a mismatch, not crash on a type.
    if isinstance(value, bytes):
        return value
    if isinstance(value, str):
        return value.encode("utf-8", "surrogateescape")
    return str(value).encode()


def _int(value: object, what: str) -> int:
    # Likewise for INTEGER columns: an edited value that is not an integer is damage to report.
    if type(value) is not int:
        raise IntegrityError(
            f"{what} holds {value!r}, not an integer", fix="run `finpilot audit verify`; restore from backup"
        )
    return value


class SQLiteStore(Store):
    """A ledger in one SQLite file."""

    def __init__(self, path: Path) -> None:
        self._path = path
        private_file(private_dir(path.parent) / path.name)
        self._local = threading.local()
        self._all: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        conn = self._conn()
        conn.executescript(_SCHEMA)

    @property
    def description(self) -> str:
        """The database file."""
        return f"sqlite:{self._path}"

    def _conn(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            try:
                conn = sqlite3.connect(self._path, isolation_level=None, check_same_thread=False, timeout=60)
                # 16 KiB pages (only a new file takes them, and only before WAL mode is set): a
                # whole 8 KiB tile fits one page, and a group commit writes fewer, larger pages.
                conn.execute("PRAGMA page_size=16384")
                conn.execute("PRAGMA journal_mode=WAL")
                conn.execute("PRAGMA synchronous=FULL")
                # Overwrite freed pages, so erased personal data does not linger in the file.
                conn.execute("PRAGMA secure_delete=ON")
                conn.execute(f"PRAGMA busy_timeout={int(_BUSY_S * 1000)}")
            except sqlite3.Error as exc:
                raise StorageError(f"cannot open {self._path}: {exc}") from exc
            self._local.conn = conn
            with self._lock:
                self._all.append(conn)
        return conn

    def begin(self) -> int:
        """BEGIN IMMEDIATE takes SQLite's write lock across processes."""
        conn = self._conn()
        # Another process may hold the write lock (several fraud scorers share one ledger).
        # SQLite's own busy handler sleeps 1, 2, 5, 10, 15... ms between tries, so writers that
        # take turns every millisecond would wait 5-30 ms each time; retrying every 50 us to 1 ms
        # takes the lock within a fraction of a millisecond of its release.
        conn.execute("PRAGMA busy_timeout=0")
        try:
            deadline = time.monotonic() + _BUSY_S
            pause = 0.00005
            while True:
                try:
                    conn.execute("BEGIN IMMEDIATE")
                    break
                except sqlite3.OperationalError as exc:
                    if ("locked" not in str(exc) and "busy" not in str(exc)) or time.monotonic() > deadline:
                        raise
                time.sleep(pause)
                pause = min(pause * 2, 0.001)
        finally:
            conn.execute(f"PRAGMA busy_timeout={int(_BUSY_S * 1000)}")
        row = conn.execute("SELECT size FROM log_state WHERE id = 1").fetchone()
        return _int(row[0], "log_state.size")

    def write_entries(
        self,
        start: int,
        data: Sequence[bytes],
        personal: Sequence[tuple[int, PersonalRow]],
        tiles: dict[tuple[int, int], bytes],
        new_size: int,
    ) -> None:
        """Insert a batch."""
        conn = self._conn()
        conn.executemany(
            "INSERT INTO entries (idx, data) VALUES (?, ?)", zip(range(start, start + len(data)), data, strict=True)
        )
        if personal:
            conn.executemany(
                "INSERT INTO personal (idx, data_subject, salt, payload) VALUES (?, ?, ?, ?)",
                [(i, p.data_subject, p.salt, p.payload) for i, p in personal],
            )
        conn.executemany(
            "INSERT OR REPLACE INTO tiles (level, idx, hashes) VALUES (?, ?, ?)",
            [(lv, ix, blob) for (lv, ix), blob in tiles.items()],
        )
        conn.execute("UPDATE log_state SET size = ? WHERE id = 1", (new_size,))

    def write_checkpoint(self, seq: int, size: int, root: bytes, note: str, created_at: str) -> None:
        """Insert a checkpoint."""
        self._conn().execute(
            "INSERT INTO checkpoints (seq, size, root, note, created_at) VALUES (?, ?, ?, ?, ?)",
            (seq, size, root, note, created_at),
        )

    def delete_personal(self, indices: Sequence[int]) -> int:
        """Delete personal rows."""
        cur = self._conn().executemany("DELETE FROM personal WHERE idx = ?", [(i,) for i in indices])
        return cur.rowcount

    def commit(self) -> None:
        """COMMIT; with synchronous=FULL the WAL is fsynced before this returns."""
        self._conn().execute("COMMIT")

    def rollback(self) -> None:
        """ROLLBACK if a transaction is open."""
        conn = self._conn()
        if conn.in_transaction:
            conn.execute("ROLLBACK")

    def scrub(self) -> None:
        """Copy the WAL into the file and truncate it, so old page images holding deleted data go away.

        A reader in another process can hold the WAL open; wait for it a while, then say so.
        """
        deadline = time.monotonic() + 10
        while True:
            busy = self._conn().execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()[0]
            if not busy:
                return
            if time.monotonic() > deadline:
                raise StorageError(
                    "the data was deleted, but old copies may remain in the write-ahead log: another "
                    "process kept it busy",
                    fix="run the same erase again when other finpilot processes are idle",
                )
            time.sleep(0.05)

    def size(self) -> int:
        """Committed size."""
        return _int(self._conn().execute("SELECT size FROM log_state WHERE id = 1").fetchone()[0], "log_state.size")

    def entries(self, start: int, end: int) -> list[tuple[int, bytes]]:
        """A range of entries."""
        return [
            (int(i), _blob(d))
            for i, d in self._conn().execute(
                "SELECT idx, data FROM entries WHERE idx >= ? AND idx < ? ORDER BY idx", (start, end)
            )
        ]

    def iter_entries(self, start: int = 0, chunk: int = 65536) -> Iterator[tuple[int, bytes]]:
        """All entries from ``start`` in chunks, so memory stays flat."""
        conn = self._conn()
        last = start - 1
        while True:
            rows = conn.execute(
                "SELECT idx, data FROM entries WHERE idx > ? ORDER BY idx LIMIT ?", (last, chunk)
            ).fetchall()
            if not rows:
                return
            for i, d in rows:
                yield int(i), _blob(d)
            last = rows[-1][0]

    def tile(self, level: int, index: int) -> bytes | None:
        """One tile."""
        row = self._conn().execute("SELECT hashes FROM tiles WHERE level = ? AND idx = ?", (level, index)).fetchone()
        return None if row is None else _blob(row[0])

    def iter_tiles(self) -> Iterator[tuple[int, int, bytes]]:
        """All tiles."""
        for level, idx, blob in self._conn().execute("SELECT level, idx, hashes FROM tiles ORDER BY level, idx"):
            yield _int(level, "tiles.level"), _int(idx, "tiles.idx"), _blob(blob)

    def checkpoints(self, after_seq: int = 0, limit: int | None = None) -> list[StoredCheckpoint]:
        """Checkpoints in order."""
        rows = self._conn().execute(
            "SELECT seq, size, root, note, created_at FROM checkpoints WHERE seq > ? ORDER BY seq LIMIT ?",
            (after_seq, -1 if limit is None else limit),
        )
        return [
            StoredCheckpoint(_int(s, "checkpoints.seq"), _int(n, "checkpoints.size"), _blob(r), str(t), str(c))
            for s, n, r, t, c in rows
        ]

    def checkpoint_for_size(self, size: int) -> StoredCheckpoint | None:
        """First checkpoint of exactly ``size``."""
        row = (
            self._conn()
            .execute(
                "SELECT seq, size, root, note, created_at FROM checkpoints WHERE size = ? ORDER BY seq LIMIT 1",
                (size,),
            )
            .fetchone()
        )
        if row is None:
            return None
        return StoredCheckpoint(
            _int(row[0], "checkpoints.seq"), _int(row[1], "checkpoints.size"), _blob(row[2]), str(row[3]), str(row[4])
        )

    def latest_checkpoint(self) -> StoredCheckpoint | None:
        """Highest-numbered checkpoint."""
        row = (
            self._conn()
            .execute("SELECT seq, size, root, note, created_at FROM checkpoints ORDER BY seq DESC LIMIT 1")
            .fetchone()
        )
        if row is None:
            return None
        return StoredCheckpoint(
            _int(row[0], "checkpoints.seq"), _int(row[1], "checkpoints.size"), _blob(row[2]), str(row[3]), str(row[4])
        )

    def personal_for(self, data_subject: str) -> list[StoredPersonal]:
        """Rows about one person."""
        rows = self._conn().execute(
            "SELECT idx, data_subject, salt, payload FROM personal WHERE data_subject = ? ORDER BY idx",
            (data_subject,),
        )
        return [StoredPersonal(int(i), PersonalRow(s, _blob(a), _blob(p))) for i, s, a, p in rows]

    def iter_personal(self) -> Iterator[StoredPersonal]:
        """All personal rows."""
        for i, s, a, p in self._conn().execute("SELECT idx, data_subject, salt, payload FROM personal ORDER BY idx"):
            yield StoredPersonal(int(i), PersonalRow(s, _blob(a), _blob(p)))

    def close(self) -> None:
        """Close all connections this store opened."""
        with self._lock:
            conns, self._all = self._all, []
        for conn in conns:
            with contextlib.suppress(sqlite3.Error):
                conn.close()
        self._local = threading.local()
