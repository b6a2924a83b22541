"""The alert manager's state in SQLite: alerts, silences, group notification state, outbox and log.

Everything the manager knows lives here, written before it acts, so a restart loses nothing
(active alerts, silences, deliveries not yet made) and does not notify twice (each group keeps
the set of alerts it last notified and when).
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from finpilot.core import StorageError, private_dir
from finpilot.watch._alerts._matchers import Matcher
from finpilot.watch._alerts._model import Alert
from finpilot.watch._alerts._silences import Silence

_SCHEMA = """
CREATE TABLE IF NOT EXISTS alerts (fingerprint TEXT PRIMARY KEY, data TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS silences (id TEXT PRIMARY KEY, ends_at REAL NOT NULL, data TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS groups (key TEXT PRIMARY KEY, data TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS outbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    sink TEXT NOT NULL,
    group_key TEXT NOT NULL,
    notification TEXT NOT NULL,
    created_at REAL NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at REAL NOT NULL,
    last_error TEXT
);
CREATE TABLE IF NOT EXISTS notifications (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at REAL NOT NULL,
    sink TEXT NOT NULL,
    group_key TEXT NOT NULL,
    status TEXT NOT NULL,
    fingerprints TEXT NOT NULL,
    outcome TEXT NOT NULL,
    attempts INTEGER NOT NULL,
    error TEXT
);
"""

STORE_FILE = "alerts.sqlite"
"""The store's file name under ``<data_dir>/watch/``."""


@dataclass
class GroupState:
    """What a group last notified, and when it may notify next."""

    first_seen: float
    next_flush_at: float
    last_sent_at: float | None = None
    notified: list[str] = field(default_factory=list)
    """Fingerprints of the firing alerts the last notification carried."""


@dataclass(frozen=True)
class OutboxItem:
    """A notification waiting for (another) delivery attempt to one sink."""

    id: int
    sink: str
    group_key: str
    notification: Mapping[str, Any]
    created_at: float
    attempts: int
    next_attempt_at: float
    last_error: str | None


_ALERT_FIELDS = tuple(f.name for f in fields(Alert))


def alert_to_dict(alert: Alert) -> dict[str, Any]:
    """An alert as plain JSON data (every field)."""
    # Not dataclasses.asdict: it deep-copies every value, and this runs once per alert per evaluation.
    data = {name: getattr(alert, name) for name in _ALERT_FIELDS}
    data["labels"], data["annotations"] = dict(alert.labels), dict(alert.annotations)
    return data


def alert_to_row(alert: Alert) -> str:
    """An alert as stored (JSON of every field)."""
    return json.dumps(alert_to_dict(alert), separators=(",", ":"))


def alert_from_row(text: str | Mapping[str, Any]) -> Alert:
    """The alert :func:`alert_to_row` stored."""
    data = json.loads(text) if isinstance(text, str) else dict(text)
    return Alert(**data)


def _silence_row(silence: Silence) -> str:
    data = asdict(silence)
    data["matchers"] = [[m.name, m.op, m.value] for m in silence.matchers]
    return json.dumps(data, separators=(",", ":"))


def _silence_from(text: str) -> Silence:
    data = json.loads(text)
    data["matchers"] = tuple(Matcher(n, op, v) for n, op, v in data["matchers"])
    return Silence(**data)


class AlertStore:
    """The SQLite file holding the manager's state; one writer at a time (a lock), WAL for readers."""

    def __init__(self, path: Path) -> None:
        self.path = path
        private_dir(path.parent)
        try:
            self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            # WAL with NORMAL keeps every committed transaction through a crash of the process;
            # only a power cut can lose the newest ones, and an fsync per alert cost ~8 ms each.
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.executescript(_SCHEMA)
        except sqlite3.Error as exc:
            raise StorageError(f"cannot open the alert store {path}: {exc}") from None
        self._lock = threading.RLock()
        self._depth = 0

    @classmethod
    def in_data_dir(cls, data_dir: Path) -> AlertStore:
        """The store under ``<data_dir>/watch/``."""
        return cls(data_dir / "watch" / STORE_FILE)

    def close(self) -> None:
        """Close the file."""
        self._db.close()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """All writes inside happen together or not at all (nested: part of the outermost one)."""
        with self._lock:
            if self._depth:
                self._depth += 1
                try:
                    yield self._db
                finally:
                    self._depth -= 1
                return
            self._db.execute("BEGIN IMMEDIATE")
            self._depth = 1
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            else:
                self._db.execute("COMMIT")
            finally:
                self._depth = 0

    # alerts
    def alerts(self) -> list[Alert]:
        """Every alert kept (pending, firing, and resolved ones not yet dropped)."""
        with self._lock:
            rows = self._db.execute("SELECT data FROM alerts ORDER BY fingerprint").fetchall()
        return [alert_from_row(r[0]) for r in rows]

    def alert(self, fingerprint: str) -> Alert | None:
        """One alert by fingerprint."""
        with self._lock:
            row = self._db.execute("SELECT data FROM alerts WHERE fingerprint = ?", (fingerprint,)).fetchone()
        return None if row is None else alert_from_row(row[0])

    def put_alert(self, alert: Alert) -> None:
        """Insert or replace an alert."""
        with self._lock:
            self._db.execute(
                "INSERT OR REPLACE INTO alerts (fingerprint, data) VALUES (?, ?)",
                (alert.fingerprint, alert_to_row(alert)),
            )

    def drop_alert(self, fingerprint: str) -> None:
        """Forget an alert."""
        with self._lock:
            self._db.execute("DELETE FROM alerts WHERE fingerprint = ?", (fingerprint,))

    # silences
    def silences(self) -> list[Silence]:
        """Every silence, newest end first."""
        with self._lock:
            rows = self._db.execute("SELECT data FROM silences ORDER BY ends_at DESC, id").fetchall()
        return [_silence_from(r[0]) for r in rows]

    def put_silence(self, silence: Silence) -> None:
        """Insert or replace a silence."""
        with self._lock:
            self._db.execute(
                "INSERT OR REPLACE INTO silences (id, ends_at, data) VALUES (?, ?, ?)",
                (silence.id, silence.ends_at, _silence_row(silence)),
            )

    # groups
    def groups(self) -> dict[str, GroupState]:
        """Every group's notification state."""
        with self._lock:
            rows = self._db.execute("SELECT key, data FROM groups").fetchall()
        return {key: GroupState(**json.loads(data)) for key, data in rows}

    def put_group(self, key: str, state: GroupState) -> None:
        """Insert or replace a group's state."""
        with self._lock:
            self._db.execute(
                "INSERT OR REPLACE INTO groups (key, data) VALUES (?, ?)", (key, json.dumps(asdict(state)))
            )

    def drop_group(self, key: str) -> None:
        """Forget a group (all its alerts resolved and notified)."""
        with self._lock:
            self._db.execute("DELETE FROM groups WHERE key = ?", (key,))

    # outbox and log
    def enqueue(self, sink: str, group_key: str, notification: Mapping[str, Any], now: float) -> int:
        """Keep a notification for delivery to ``sink``; returns its outbox id."""
        with self._lock:
            cursor = self._db.execute(
                "INSERT INTO outbox (sink, group_key, notification, created_at, next_attempt_at) "
                "VALUES (?, ?, ?, ?, ?)",
                (sink, group_key, json.dumps(notification, separators=(",", ":")), now, now),
            )
        return int(cursor.lastrowid or 0)

    def outbox(self, due_at: float | None = None) -> list[OutboxItem]:
        """Deliveries not yet made, oldest first (only those due at ``due_at`` when given)."""
        sql = "SELECT id, sink, group_key, notification, created_at, attempts, next_attempt_at, last_error FROM outbox"
        args: tuple[Any, ...] = ()
        if due_at is not None:
            sql, args = sql + " WHERE next_attempt_at <= ?", (due_at,)
        with self._lock:
            rows = self._db.execute(sql + " ORDER BY id", args).fetchall()
        return [
            OutboxItem(r[0], r[1], r[2], json.loads(r[3]), r[4], r[5], r[6], r[7])  # one row, in column order
            for r in rows
        ]

    def delivered(self, item_id: int) -> None:
        """A delivery succeeded: it leaves the outbox."""
        with self._lock:
            self._db.execute("DELETE FROM outbox WHERE id = ?", (item_id,))

    def retry_later(self, item_id: int, attempts: int, next_attempt_at: float, error: str) -> None:
        """A delivery failed: keep it, and say when to try again."""
        with self._lock:
            self._db.execute(
                "UPDATE outbox SET attempts = ?, next_attempt_at = ?, last_error = ? WHERE id = ?",
                (attempts, next_attempt_at, error, item_id),
            )

    def log(
        self,
        *,
        at: float,
        sink: str,
        group_key: str,
        status: str,
        fingerprints: list[str],
        outcome: str,
        attempts: int,
        error: str | None,
    ) -> None:
        """Record one delivery attempt's outcome in the notification log."""
        with self._lock:
            self._db.execute(
                "INSERT INTO notifications (at, sink, group_key, status, fingerprints, outcome, attempts, error) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (at, sink, group_key, status, json.dumps(fingerprints), outcome, attempts, error),
            )

    def notifications(self, limit: int = 50) -> list[dict[str, Any]]:
        """The newest ``limit`` delivery outcomes, newest first."""
        with self._lock:
            rows = self._db.execute(
                "SELECT id, at, sink, group_key, status, fingerprints, outcome, attempts, error "
                "FROM notifications ORDER BY id DESC LIMIT ?",
                (limit,),
            ).fetchall()
        keys = ("id", "at", "sink", "group_key", "status", "fingerprints", "outcome", "attempts", "error")
        found = [dict(zip(keys, row, strict=True)) for row in rows]
        for item in found:
            item["fingerprints"] = json.loads(item["fingerprints"])
        return found
