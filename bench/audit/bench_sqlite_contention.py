"""Two processes appending to one SQLite ledger: append latency with SQLite's busy handler against the fast retry.

Several HTTP fraud scorers share one ledger, so their group commits take SQLite's write lock in
turns. SQLite's own busy handler sleeps 1, 2, 5, 10... ms between tries; ``SQLiteStore.begin``
retries every 50 us to 1 ms instead. Each process appends one entry at a time at ``--rate``/s
(open loop, paced); latency is per ``Ledger.append`` call. Alternating runs, old and new.

Prints ONE JSON object on stdout; progress on stderr. Example:
    .venv/bin/python -m bench.audit.bench_sqlite_contention
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import multiprocessing as mp
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any


def _worker(data_dir: str, old: bool, n: int, rate: float, out: Any) -> None:
    from finpilot.audit import Entry, _sqlite, open_ledger
    from finpilot.core import Settings

    if old:

        def begin(self: Any) -> int:
            conn = self._conn()
            conn.execute("BEGIN IMMEDIATE")  # SQLite's busy handler (busy_timeout) waits
            return int(conn.execute("SELECT size FROM log_state WHERE id = 1").fetchone()[0])

        _sqlite.SQLiteStore.begin = begin  # type: ignore[method-assign]
    with open_ledger(Settings(data_dir=Path(data_dir))) as ledger:
        entry = Entry(kind="custom.bench.probe", actor="bench", action="append", subject="payment:x", outcome="ok")
        ledger.append(entry)
        ms = []
        t0 = time.perf_counter()
        for i in range(n):
            wait = t0 + i / rate - time.perf_counter()
            if wait > 0:
                time.sleep(wait)
            t = time.perf_counter()
            ledger.append(entry)
            ms.append((time.perf_counter() - t) * 1000)
        out.put(ms)


def one(old: bool, n: int, rate: float, processes: int) -> dict[str, float]:
    """One run: ``processes`` writers on a fresh ledger; percentiles of their append latency."""
    from finpilot.audit import open_ledger
    from finpilot.core import Settings

    data_dir = tempfile.mkdtemp(prefix="fp-contention-")
    with open_ledger(Settings(data_dir=Path(data_dir))):
        pass
    queue: Any = mp.Queue()
    procs = [mp.Process(target=_worker, args=(data_dir, old, n, rate, queue)) for _ in range(processes)]
    for p in procs:
        p.start()
    ms = sorted(x for _ in procs for x in queue.get())
    for p in procs:
        p.join()

    def pct(q: float) -> float:
        return round(ms[min(len(ms) - 1, int(len(ms) * q))], 3)

    return {"p50_ms": pct(0.5), "p90_ms": pct(0.9), "p99_ms": pct(0.99), "max_ms": round(ms[-1], 3)}


def main() -> None:
    """Run and print the JSON."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--appends", type=int, default=1500, help="per process")
    ap.add_argument("--rate", type=float, default=250.0, help="appends/s per process")
    ap.add_argument("--processes", type=int, default=2)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    runs: dict[str, list[dict[str, float]]] = {"sqlite_busy_handler": [], "fast_retry": []}
    for rep in range(args.repeat):
        for old in (True, False):
            name = "sqlite_busy_handler" if old else "fast_retry"
            runs[name].append(one(old, args.appends, args.rate, args.processes))
            print(f"repeat {rep} {name}: {runs[name][-1]} load {os.getloadavg()}", file=sys.stderr, flush=True)
    medians = {name: {key: statistics.median(r[key] for r in got) for key in got[0]} for name, got in runs.items()}
    json.dump(
        {
            "benchmark": "audit.sqlite_contention",
            "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "command": " ".join([Path(sys.executable).name, *sys.argv]),
            "args": vars(args),
            "loadavg_after": [round(x, 2) for x in os.getloadavg()],
            "runs": runs,
            "medians": medians,
        },
        sys.stdout,
        indent=2,
    )
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
