"""The embedded metrics store: SQLite in WAL mode, one writer and any number of readers.

SQLite rather than DuckDB, by measurement (``bench/watch/bench_store.py``, figures in
``docs/watch-metrics.md``): a scrape writes a few hundred rows in one small transaction, which a
row store with a B-tree per table does well and a column store does badly, and SQLite ships with
Python. Layout::

    series(id, name, labels)                    labels: canonical JSON, sorted; UNIQUE(name, labels)
    samples(series_id, ts, value)               raw samples; PRIMARY KEY (series_id, ts), ts in ms
    rollups(series_id, bucket, n, sum, min, max, last, last_ts)   5-minute aggregates of older data
    meta(key, value)                            the downsampling watermark
    rejects(target, reason, n)                  samples refused, counted per target and reason
    health(target, ...)                         each scrape target's last scrape

Non-finite values: ``+Inf``/``-Inf`` are stored as SQLite's infinities; NaN is stored as NULL
(SQLite cannot hold a NaN) and read back as NaN, so nothing is lost. Reads return them as they
were scraped; skip them with :func:`~finpilot.watch.finite_points`.

What a write refuses, each counted under its target (:meth:`MetricsStore.rejections`):

- ``future``: a sample stamped more than ``skew_tolerance_s`` ahead of the scraper's clock (a
  target with a skewed clock). Rejected, not clamped: moving a counter's sample in time would bend
  every rate computed from it, and the count makes the skew visible.
- ``out_of_order``: older than the series' newest sample by more than ``out_of_order_s``.
  Within the tolerance a late sample is accepted; the same (series, timestamp) twice is a no-op.
- ``too_old``: older than the downsampling watermark or the retention, where it could no longer
  be served consistently.

Downsampling: :meth:`MetricsStore.compact` rolls raw samples older than ``downsample_after_s`` into
``downsample_step_s`` buckets (count, sum, min, max and the last value with its timestamp), deletes
those raw rows, and drops everything older than ``retention_s``. Range reads then serve a rolled-up
bucket as one point, its last value at its last timestamp: a gauge keeps its latest reading per
bucket and a counter stays a counter, so ``rate`` still works (at the bucket's resolution).
"""

from __future__ import annotations

import json
import math
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from finpilot.core import StorageError
from finpilot.watch._metrics._exposition import Labels

_SCHEMA = """
CREATE TABLE IF NOT EXISTS series (
    id INTEGER PRIMARY KEY, name TEXT NOT NULL, labels TEXT NOT NULL, UNIQUE (name, labels));
CREATE TABLE IF NOT EXISTS samples (
    series_id INTEGER NOT NULL, ts INTEGER NOT NULL, value REAL, PRIMARY KEY (series_id, ts)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS rollups (
    series_id INTEGER NOT NULL, bucket INTEGER NOT NULL, n INTEGER NOT NULL, sum REAL, min REAL, max REAL,
    last REAL, last_ts INTEGER NOT NULL, PRIMARY KEY (series_id, bucket)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS rejects (target TEXT NOT NULL, reason TEXT NOT NULL, n INTEGER NOT NULL,
    PRIMARY KEY (target, reason));
CREATE TABLE IF NOT EXISTS health (target TEXT PRIMARY KEY, up INTEGER NOT NULL, last_scrape REAL,
    last_success REAL, last_error TEXT, duration_s REAL, samples INTEGER);
"""

IntArray = np.ndarray[Any, np.dtype[np.int64]]
"""Timestamps in ms."""
FloatArray = np.ndarray[Any, np.dtype[np.float64]]
"""Sample values."""

REJECT_REASONS = ("future", "out_of_order", "too_old")
"""Why a write refuses a sample (see the module docstring)."""


@dataclass(frozen=True)
class StoredSeries:
    """A series as the store knows it: its row id, metric name and labels."""

    id: int
    name: str
    labels: Mapping[str, str]


@dataclass(frozen=True)
class WriteResult:
    """What one batched write did: samples stored, duplicates ignored, and refusals by reason."""

    accepted: int
    duplicates: int
    rejected: Mapping[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class TargetHealth:
    """A scrape target's last scrape as recorded in the store."""

    target: str
    up: bool
    last_scrape: float | None
    last_success: float | None
    last_error: str | None
    duration_s: float | None
    samples: int | None


@dataclass(frozen=True)
class CompactResult:
    """What :meth:`MetricsStore.compact` did."""

    rolled_up: int
    deleted_raw: int
    deleted_rollups: int
    watermark_ms: int


def _labels_key(labels: Labels) -> str:
    return json.dumps(dict(labels), separators=(",", ":"), ensure_ascii=False)


def _stored(value: float) -> float | None:
    return None if math.isnan(value) else value


class MetricsStore:
    """Samples in one SQLite file (WAL): batched writes per scrape, range reads, retention, downsampling.

    Thread-safe for one writer and several readers: writes serialise on one connection, every
    reading thread gets a connection of its own, and WAL lets reads run beside a write.
    """

    def __init__(
        self,
        path: Path | str,
        *,
        out_of_order_s: float = 60.0,
        skew_tolerance_s: float = 60.0,
        retention_s: float = 15 * 86400.0,
        downsample_after_s: float | None = 2 * 86400.0,
        downsample_step_s: float = 300.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.path = Path(path)
        self.out_of_order_ms = int(out_of_order_s * 1000)
        self.skew_tolerance_ms = int(skew_tolerance_s * 1000)
        self.retention_ms = int(retention_s * 1000)
        self.downsample_after_ms = None if downsample_after_s is None else int(downsample_after_s * 1000)
        self.step_ms = int(downsample_step_s * 1000)
        self.clock = clock
        self._lock = threading.Lock()
        self._local = threading.local()
        self._ids: dict[tuple[str, Labels], int] = {}
        self._newest: dict[int, int] = {}
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._writer = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
            self._writer.execute("PRAGMA journal_mode=WAL")
            # NORMAL is durable against a process crash in WAL mode; losing the last scrape on a
            # power cut is an acceptable price for not syncing every 15 s per target.
            self._writer.execute("PRAGMA synchronous=NORMAL")
            self._writer.executescript(_SCHEMA)
            row = self._writer.execute("SELECT value FROM meta WHERE key='watermark'").fetchone()
        except sqlite3.Error as exc:
            raise StorageError(f"metrics store {self.path}: {exc}", fix="check the path and its permissions") from exc
        self._watermark_ms = int(row[0]) if row else -(2**62)

    def describe(self) -> str:
        """Where the samples live, e.g. ``sqlite:/data/metrics.db``."""
        return f"sqlite:{self.path}"

    def close(self) -> None:
        """Close the writer connection (readers close with their threads)."""
        with self._lock:
            self._writer.close()

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            try:
                self._writer.execute("BEGIN IMMEDIATE")
                yield self._writer
                self._writer.execute("COMMIT")
            except BaseException:
                if self._writer.in_transaction:
                    self._writer.execute("ROLLBACK")
                raise

    def _series_id(self, db: sqlite3.Connection, name: str, labels: Labels) -> int:
        key = (name, labels)
        sid = self._ids.get(key)
        if sid is None:
            text = _labels_key(labels)
            db.execute("INSERT OR IGNORE INTO series (name, labels) VALUES (?, ?)", (name, text))
            sid = int(db.execute("SELECT id FROM series WHERE name=? AND labels=?", (name, text)).fetchone()[0])
            newest = db.execute("SELECT MAX(ts) FROM samples WHERE series_id=?", (sid,)).fetchone()[0]
            self._newest[sid] = -(2**62) if newest is None else int(newest)
            self._ids[key] = sid
        return sid

    def write(
        self,
        samples: Iterable[tuple[str, Labels, float, int | None]],
        *,
        scrape_time: float | None = None,
        target: str = "",
    ) -> WriteResult:
        """Store one scrape's samples ``(name, sorted labels, value, timestamp ms or None)`` in one transaction.

        A sample without a timestamp gets ``scrape_time`` (default: the store's clock), as
        Prometheus does. Refusals are counted under ``target``; see the module docstring.
        """
        now_ms = int((self.clock() if scrape_time is None else scrape_time) * 1000)
        future_ms = now_ms + self.skew_tolerance_ms
        floor_ms = max(self._watermark_ms, now_ms - self.retention_ms)
        rejected = dict.fromkeys(REJECT_REASONS, 0)
        try:
            with self._transaction() as db:
                rows: list[tuple[int, int, float | None]] = []
                newest = self._newest
                for name, labels, value, stamp in samples:
                    ts = now_ms if stamp is None else stamp
                    if ts > future_ms:
                        rejected["future"] += 1
                        continue
                    if ts < floor_ms:
                        rejected["too_old"] += 1
                        continue
                    sid = self._series_id(db, name, labels)
                    top = newest[sid]
                    if ts > top:
                        newest[sid] = ts
                    elif ts < top - self.out_of_order_ms:
                        rejected["out_of_order"] += 1
                        continue
                    rows.append((sid, ts, _stored(value)))
                before = db.total_changes
                db.executemany("INSERT OR IGNORE INTO samples (series_id, ts, value) VALUES (?, ?, ?)", rows)
                accepted = db.total_changes - before
                counted = {k: v for k, v in rejected.items() if v}
                db.executemany(
                    "INSERT INTO rejects (target, reason, n) VALUES (?, ?, ?) "
                    "ON CONFLICT (target, reason) DO UPDATE SET n = n + excluded.n",
                    [(target, k, v) for k, v in counted.items()],
                )
        except BaseException as exc:
            # The caches may now name rows the rollback removed; rebuild them from the file.
            self._ids.clear()
            self._newest.clear()
            if not isinstance(exc, sqlite3.Error):
                raise
            raise StorageError(f"metrics store {self.path}: write failed: {exc}", fix="retry the write") from exc
        return WriteResult(accepted, len(rows) - accepted, counted)

    def record_health(self, health: TargetHealth) -> None:
        """Keep a target's last scrape, so another process (``finpilot watch targets``) can show it."""
        try:
            self._record_health(health)
        except sqlite3.Error as exc:
            raise StorageError(f"metrics store {self.path}: {exc}", fix="retry the write") from exc

    def _record_health(self, health: TargetHealth) -> None:
        with self._transaction() as db:
            db.execute(
                "INSERT OR REPLACE INTO health VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    health.target,
                    int(health.up),
                    health.last_scrape,
                    health.last_success,
                    health.last_error,
                    health.duration_s,
                    health.samples,
                ),
            )

    def _reader(self) -> sqlite3.Connection:
        db: sqlite3.Connection | None = getattr(self._local, "db", None)
        if db is None:
            db = sqlite3.connect(self.path, isolation_level=None)
            db.execute("PRAGMA query_only=1")
            self._local.db = db
        return db

    def health(self) -> list[TargetHealth]:
        """Every target's last recorded scrape, by target."""
        rows = self._reader().execute("SELECT * FROM health ORDER BY target").fetchall()
        return [TargetHealth(r[0], bool(r[1]), r[2], r[3], r[4], r[5], r[6]) for r in rows]

    def rejections(self) -> dict[str, dict[str, int]]:
        """Samples refused so far, ``{target: {reason: count}}``."""
        found: dict[str, dict[str, int]] = {}
        for target, reason, n in self._reader().execute("SELECT target, reason, n FROM rejects ORDER BY 1, 2"):
            found.setdefault(target, {})[reason] = int(n)
        return found

    def find_series(self, name: str | None) -> list[StoredSeries]:
        """The series with this metric name (every series when ``None``)."""
        db = self._reader()
        if name is None:
            rows = db.execute("SELECT id, name, labels FROM series").fetchall()
        else:
            rows = db.execute("SELECT id, name, labels FROM series WHERE name=?", (name,)).fetchall()
        return [StoredSeries(int(r[0]), r[1], json.loads(r[2])) for r in rows]

    def points(self, series_id: int, start: float, end: float) -> tuple[list[float], list[float]]:
        """A series' points in ``[start, end]`` (seconds), oldest first: raw samples and rolled-up buckets."""
        times, values = self.points_ms(series_id, math.floor(start * 1000), math.ceil(end * 1000))
        return (times / 1000).tolist(), values.tolist()

    def points_ms(self, series_id: int, lo_ms: int, hi_ms: int) -> tuple[IntArray, FloatArray]:
        """A series' points with timestamps in ``[lo_ms, hi_ms]`` as numpy arrays (ms, values; NaN kept)."""
        return self.points_many([series_id], lo_ms, hi_ms)[series_id]

    def points_many(self, ids: Sequence[int], lo_ms: int, hi_ms: int) -> dict[int, tuple[IntArray, FloatArray]]:
        """Several series' points in ``[lo_ms, hi_ms]``, by series id, in two indexed reads.

        Rolled-up buckets all lie before the downsampling watermark and raw samples after it, so
        each series' rollups followed by its raw samples are already in time order.
        """
        found: dict[int, tuple[IntArray, FloatArray]] = {}
        db = self._reader()
        for start in range(0, len(ids), 500):  # SQLite's bound-parameter limit
            chunk = list(ids[start : start + 500])
            marks = ",".join("?" * len(chunk))
            parts = []
            for sql in (
                f"SELECT series_id, last_ts, last FROM rollups WHERE series_id IN ({marks}) "  # noqa: S608  # nosec B608 - placeholders only
                "AND last_ts BETWEEN ? AND ? ORDER BY series_id, bucket",
                f"SELECT series_id, ts, value FROM samples WHERE series_id IN ({marks}) "  # noqa: S608  # nosec B608 - placeholders only
                "AND ts BETWEEN ? AND ? ORDER BY series_id, ts",
            ):
                rows = db.execute(sql, (*chunk, lo_ms, hi_ms)).fetchall()
                # NULL is a stored NaN; numpy turns None into NaN in a float array.
                parts.append(np.array(rows, dtype=np.float64).reshape(-1, 3))
            table = np.vstack(parts)
            # A stable sort by series keeps each series' rollups-then-raw time order.
            table = table[np.argsort(table[:, 0], kind="stable")]
            sids = table[:, 0].astype(np.int64)
            for sid in chunk:
                lo, hi = np.searchsorted(sids, sid, side="left"), np.searchsorted(sids, sid, side="right")
                found[sid] = table[lo:hi, 1].astype(np.int64), table[lo:hi, 2].copy()
        return found

    def has_points(self, series_id: int, start: float, end: float) -> bool:
        """Whether a series has any point in ``[start, end]``."""
        lo, hi = math.floor(start * 1000), math.ceil(end * 1000)
        db = self._reader()
        raw = db.execute("SELECT 1 FROM samples WHERE series_id=? AND ts BETWEEN ? AND ? LIMIT 1", (series_id, lo, hi))
        if raw.fetchone():
            return True
        rolled = db.execute(
            "SELECT 1 FROM rollups WHERE series_id=? AND last_ts BETWEEN ? AND ? LIMIT 1", (series_id, lo, hi)
        )
        return rolled.fetchone() is not None

    def compact(self, now: float | None = None) -> CompactResult:
        """Roll raw samples older than ``downsample_after_s`` into buckets, then apply the retention."""
        try:
            return self._compact(int((self.clock() if now is None else now) * 1000))
        except sqlite3.Error as exc:
            raise StorageError(f"metrics store {self.path}: compaction failed: {exc}", fix="retry later") from exc

    def _compact(self, now_ms: int) -> CompactResult:
        keep_ms = now_ms - self.retention_ms
        rolled = deleted_raw = 0
        with self._transaction() as db:
            watermark = self._watermark_ms
            if self.downsample_after_ms is not None:
                # Only whole buckets are rolled up, so a bucket is never half raw and half rolled.
                cutoff = (now_ms - self.downsample_after_ms) // self.step_ms * self.step_ms
                if cutoff > watermark:
                    before = db.total_changes
                    db.execute(
                        "WITH g AS (SELECT series_id, (ts / ?) * ? AS bucket, COUNT(*) AS n, SUM(value) AS s, "
                        "MIN(value) AS lo, MAX(value) AS hi, MAX(ts) AS lt FROM samples WHERE ts < ? "
                        "GROUP BY series_id, bucket) "
                        "INSERT INTO rollups (series_id, bucket, n, sum, min, max, last, last_ts) "
                        "SELECT g.series_id, g.bucket, g.n, g.s, g.lo, g.hi, "
                        "(SELECT value FROM samples WHERE series_id = g.series_id AND ts = g.lt), g.lt FROM g WHERE 1 "
                        "ON CONFLICT (series_id, bucket) DO UPDATE SET n = n + excluded.n, "
                        "sum = sum + excluded.sum, min = MIN(min, excluded.min), max = MAX(max, excluded.max), "
                        "last = CASE WHEN excluded.last_ts > last_ts THEN excluded.last ELSE last END, "
                        "last_ts = MAX(last_ts, excluded.last_ts)",
                        (self.step_ms, self.step_ms, cutoff),
                    )
                    # ``rowcount`` is -1 for a statement that starts with WITH; count the changes instead.
                    rolled = db.total_changes - before
                    deleted_raw = db.execute("DELETE FROM samples WHERE ts < ?", (cutoff,)).rowcount
                    watermark = cutoff
            deleted_raw += db.execute("DELETE FROM samples WHERE ts < ?", (keep_ms,)).rowcount
            deleted_rollups = db.execute("DELETE FROM rollups WHERE last_ts < ?", (keep_ms,)).rowcount
            db.execute("INSERT OR REPLACE INTO meta VALUES ('watermark', ?)", (str(watermark),))
        self._watermark_ms = watermark
        return CompactResult(rolled, deleted_raw, deleted_rollups, watermark)

    def counts(self) -> dict[str, int]:
        """How many series, raw samples and rolled-up buckets the store holds."""
        db = self._reader()
        return {
            table: int(db.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0])  # noqa: S608  # nosec B608 - fixed table names
            for table in ("series", "samples", "rollups")
        }


def finite_points(points: Sequence[tuple[float, float]]) -> list[tuple[float, float]]:
    """The points whose value is a finite number: what a detector or an alert rule should score."""
    return [p for p in points if math.isfinite(p[1])]
