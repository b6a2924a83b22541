"""SQLite against DuckDB for the embedded metrics store: ingest rate, 24 h range read, file size.

Both engines get the store's schema (samples keyed ``(series_id, ts)``) and the store's workload:
one transaction per scrape of ``--series`` samples, then reads of one series' 24 h at 15 s
resolution (5,761 samples) out of ``--query-series`` series that each hold 24 h. Runs with only the
standard library, numpy and (optionally) duckdb, so it runs in a throwaway venv that has duckdb
(``python3 -m venv /tmp/duck && /tmp/duck/bin/pip install duckdb numpy``) without touching the
project's. DuckDB is measured twice: ``executemany`` (what the store does per scrape) and a bulk
insert from numpy arrays (its best case).

Prints ONE JSON object on stdout; progress on stderr. Example:
    /tmp/duck/bin/python bench/watch/bench_store.py --scrapes 200 --series 500 > bench/out/watch-store.json
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

DAY_POINTS = 86400 // 15 + 1
T0_MS = 1_700_000_000_000


def log(*parts: object) -> None:
    print(*parts, file=sys.stderr, flush=True)


def rows_for(scrape: int, series: int) -> list[tuple[int, int, float]]:
    ts = T0_MS + scrape * 15_000
    return [(sid, ts, float(scrape * 7 + sid)) for sid in range(series)]


def size_of(path: Path) -> int:
    return sum(p.stat().st_size for p in path.parent.glob(path.name + "*"))


class Sqlite:
    name = "sqlite"

    def __init__(self, path: Path) -> None:
        self.path = path
        self.db = sqlite3.connect(path, isolation_level=None)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.db.execute(
            "CREATE TABLE samples (series_id INTEGER NOT NULL, ts INTEGER NOT NULL, value REAL, "
            "PRIMARY KEY (series_id, ts)) WITHOUT ROWID"
        )

    def write(self, rows: list[tuple[int, int, float]]) -> None:
        self.db.execute("BEGIN IMMEDIATE")
        self.db.executemany("INSERT OR IGNORE INTO samples VALUES (?, ?, ?)", rows)
        self.db.execute("COMMIT")

    def bulk(self, sids: Any, ts: Any, values: Any) -> None:
        self.write(list(zip(sids.tolist(), ts.tolist(), values.tolist(), strict=True)))

    def read(self, sid: int, lo: int, hi: int) -> int:
        rows = self.db.execute(
            "SELECT ts, value FROM samples WHERE series_id=? AND ts BETWEEN ? AND ? ORDER BY ts", (sid, lo, hi)
        ).fetchall()
        return len(rows)

    def close(self) -> None:
        self.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        self.db.close()


class Duck:
    name = "duckdb"

    def __init__(self, path: Path, *, numpy_batches: bool) -> None:
        import duckdb

        self.path = path
        self.numpy_batches = numpy_batches
        self.db = duckdb.connect(str(path))
        self.db.execute(
            "CREATE TABLE samples (series_id INTEGER NOT NULL, ts BIGINT NOT NULL, value DOUBLE, "
            "PRIMARY KEY (series_id, ts))"
        )
        if numpy_batches:
            self.name = "duckdb-numpy"

    def write(self, rows: list[tuple[int, int, float]]) -> None:
        if self.numpy_batches:
            import numpy as np

            cols = list(zip(*rows, strict=True))
            self.bulk(np.array(cols[0]), np.array(cols[1]), np.array(cols[2]))
            return
        self.db.execute("BEGIN TRANSACTION")
        self.db.executemany("INSERT OR IGNORE INTO samples VALUES (?, ?, ?)", rows)
        self.db.execute("COMMIT")

    def bulk(self, sids: Any, ts: Any, values: Any) -> None:
        batch = {"series_id": sids, "ts": ts, "value": values}  # noqa: F841 - read by DuckDB's replacement scan
        self.db.execute("BEGIN TRANSACTION")
        self.db.execute("INSERT OR IGNORE INTO samples SELECT series_id, ts, value FROM batch")
        self.db.execute("COMMIT")

    def read(self, sid: int, lo: int, hi: int) -> int:
        rows = self.db.execute(
            "SELECT ts, value FROM samples WHERE series_id=? AND ts BETWEEN ? AND ? ORDER BY ts", [sid, lo, hi]
        ).fetchall()
        return len(rows)

    def close(self) -> None:
        self.db.execute("CHECKPOINT")
        self.db.close()


def measure(make: Callable[[Path], Any], args: argparse.Namespace) -> dict[str, Any]:
    import numpy as np

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "ingest.db"
        engine = make(path)
        began = time.perf_counter()
        for scrape in range(args.scrapes):
            engine.write(rows_for(scrape, args.series))
        elapsed = time.perf_counter() - began
        engine.close()
        ingest = {
            "scrapes": args.scrapes,
            "series_per_scrape": args.series,
            "samples_per_s": round(args.scrapes * args.series / elapsed),
            "ms_per_scrape": round(elapsed / args.scrapes * 1000, 3),
            "bytes_per_sample": round(size_of(path) / (args.scrapes * args.series), 1),
        }
        log(engine.name, "ingest", ingest)

        path = Path(tmp) / "day.db"
        engine = make(path)
        n = args.query_series
        sids = np.repeat(np.arange(n, dtype=np.int64), DAY_POINTS)
        ts = np.tile(T0_MS + np.arange(DAY_POINTS, dtype=np.int64) * 15_000, n)
        values = np.random.default_rng(1).random(n * DAY_POINTS) * 1000
        engine.bulk(sids, ts, values)
        lo, hi = T0_MS, T0_MS + 86_400_000
        times = []
        for i in range(args.repeat):
            began = time.perf_counter()
            got = engine.read(i % n, lo, hi)
            times.append(time.perf_counter() - began)
            assert got == DAY_POINTS, got
        engine.close()
        query = {
            "series_in_store": n,
            "points_read": DAY_POINTS,
            "median_ms": round(statistics.median(times) * 1000, 3),
            "p90_ms": round(sorted(times)[int(0.9 * len(times))] * 1000, 3),
            "bytes_per_sample": round(size_of(path) / (n * DAY_POINTS), 1),
        }
        log(engine.name, "24h read", query)
    return {"ingest": ingest, "range_read_24h_15s": query}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scrapes", type=int, default=200, help="Scrapes (transactions) to ingest.")
    parser.add_argument("--series", type=int, default=500, help="Samples per scrape.")
    parser.add_argument("--query-series", type=int, default=50, help="Series holding 24 h each for the read.")
    parser.add_argument("--repeat", type=int, default=30, help="Range reads timed.")
    args = parser.parse_args()
    results: dict[str, Any] = {"sqlite": measure(Sqlite, args)}
    try:
        import duckdb

        results["duckdb_executemany"] = measure(lambda p: Duck(p, numpy_batches=False), args)
        results["duckdb_numpy_batches"] = measure(lambda p: Duck(p, numpy_batches=True), args)
        duck_version: str | None = duckdb.__version__
    except ImportError:
        duck_version = None
        log("duckdb is not installed here: only SQLite measured")
    print(
        json.dumps(
            {
                "benchmark": "watch-store",
                "machine": {
                    "nproc": os.cpu_count(),
                    "python": sys.version.split()[0],
                    "platform": platform.platform(),
                    "sqlite": sqlite3.sqlite_version,
                    "duckdb": duck_version,
                    "loadavg": [round(x, 2) for x in os.getloadavg()],
                },
                "params": vars(args),
                "results": results,
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
