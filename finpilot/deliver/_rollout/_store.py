"""Where rollouts live: one SQLite file under the data dir, shared by the loop, the CLI and the console.

The loop owns a rollout's record and saves it after every change; manual actions (promote, abort,
pause, resume) from the CLI or the console are queued as requests that the loop takes on its next
tick, so every change to a rollout is made by the one process that runs it.
"""

from __future__ import annotations

import contextlib
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path

from finpilot.core import NotFoundError, StorageError
from finpilot.deliver._rollout._record import Manual, RolloutRecord

_SCHEMA = """
CREATE TABLE IF NOT EXISTS rollouts (id TEXT PRIMARY KEY, body TEXT NOT NULL, updated REAL NOT NULL);
CREATE TABLE IF NOT EXISTS requests (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, rollout TEXT NOT NULL, action TEXT NOT NULL,
    actor TEXT NOT NULL, at REAL NOT NULL, taken INTEGER NOT NULL DEFAULT 0
);
"""


def store_path(data_dir: Path) -> Path:
    """The rollout store's file under a data dir."""
    return data_dir / "rollouts.db"


class RolloutStore:
    """Rollout records and pending manual requests (see the module docstring)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        with self._db() as db:
            db.executescript(_SCHEMA)

    @contextlib.contextmanager
    def _db(self) -> Iterator[sqlite3.Connection]:
        try:
            conn = sqlite3.connect(self.path, timeout=10, isolation_level=None)
        except sqlite3.Error as exc:
            raise StorageError(f"cannot open the rollout store {self.path}: {exc}") from None
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            yield conn
        except sqlite3.Error as exc:
            raise StorageError(f"rollout store {self.path}: {exc}") from None
        finally:
            conn.close()

    def save(self, record: RolloutRecord) -> None:
        """Insert or replace ``record``."""
        with self._db() as db:
            db.execute(
                "INSERT OR REPLACE INTO rollouts (id, body, updated) VALUES (?, ?, ?)",
                (record.id, record.model_dump_json(), record.updated_at),
            )

    def find(self, rollout_id: str) -> RolloutRecord | None:
        """The record, or None."""
        with self._db() as db:
            row = db.execute("SELECT body FROM rollouts WHERE id = ?", (rollout_id,)).fetchone()
        return None if row is None else RolloutRecord.model_validate_json(row[0])

    def get(self, rollout_id: str) -> RolloutRecord:
        """The record, or NotFoundError."""
        found = self.find(rollout_id)
        if found is None:
            raise NotFoundError(f"no rollout {rollout_id!r}", fix="see `finpilot rollout list`")
        return found

    def all(self) -> list[RolloutRecord]:
        """Every rollout, the most recently updated first."""
        with self._db() as db:
            rows = db.execute("SELECT body FROM rollouts ORDER BY updated DESC").fetchall()
        return [RolloutRecord.model_validate_json(r[0]) for r in rows]

    def request(self, rollout_id: str, action: Manual, actor: str) -> RolloutRecord:
        """Queue a manual action for the loop; refused (NotFoundError) for an unknown or finished rollout."""
        record = self.get(rollout_id)
        if record.terminal:
            raise NotFoundError(
                f"rollout {rollout_id!r} is over ({record.phase})", fix="start a new rollout for a new release"
            )
        with self._db() as db:
            db.execute(
                "INSERT INTO requests (rollout, action, actor, at) VALUES (?, ?, ?, ?)",
                (rollout_id, action, actor, time.time()),
            )
        return record

    def take(self, rollout_id: str) -> list[tuple[Manual, str]]:
        """The pending requests for a rollout, oldest first, marked taken."""
        with self._db() as db:
            db.execute("BEGIN IMMEDIATE")
            rows = db.execute(
                "SELECT seq, action, actor FROM requests WHERE rollout = ? AND taken = 0 ORDER BY seq", (rollout_id,)
            ).fetchall()
            db.executemany("UPDATE requests SET taken = 1 WHERE seq = ?", [(r[0],) for r in rows])
            db.execute("COMMIT")
        return [(r[1], r[2]) for r in rows]
