"""How long a partition's periodic snapshot stops scoring, at N cards: copied under the lock, or forked.

A scorer holds N customers' feature rows (N payments fed straight into its engine, as
``bench_memory`` does). A thread then scores new payments through :meth:`FraudService.score` at
``--rate`` per second (the decision, its ledger entry, the lock), while the main thread calls
:meth:`Partition.save` once a second, ``--saves`` times, with the snapshot either copied under the
service's lock (the way before forked saves, ``CAN_FORK`` off) or written by a forked child. Per
mode it reports the score calls' latency inside the save windows and outside them, the time of
what ``save()`` does under the locks that grows with the state (the copy, or the fork), and the
save's wall time. A save's window runs to the next save, so the tail rounds that remove the old
snapshot file count too. Both modes run in one process on the same state, alternating, so machine
noise falls on both.

Prints ONE JSON object on stdout; progress on stderr. Example:
    .venv/bin/python -m bench.fraud.bench_snapshot_stall --cards 1000000 --saves 5
"""

from __future__ import annotations

import argparse
import datetime as dt
import itertools
import json
import os
import platform
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from bench.fraud.bench_memory import EPOCH0, loadavg, log


def quantile(values: list[float], q: float) -> float:
    """The ``q`` quantile (nearest rank) of ``values``, in ms; 0 when empty."""
    if not values:
        return 0.0
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000, 2)


def build(cards: int, work: Path) -> Any:
    """A scorer partition (ring of 1) on a fresh ledger, its engine holding ``cards`` customers."""
    from finpilot.audit import open_ledger
    from finpilot.core import FraudSettings, Settings
    from finpilot.fraud import FraudService, HashRing, Partition, Payment, partition_dir
    from finpilot.fraud._csv import read_payments
    from finpilot.fraud._models._train import train_artifact
    from finpilot.fraud._traffic._synthetic import generate_payments

    csv_path = work / "train.csv"
    generate_payments(csv_path, customers=100, terminals=200, days=30, seed=1)
    train_artifact(read_payments(csv_path)).save(work / "model")
    ledger = open_ledger(Settings(data_dir=work / "fp"))
    service = FraudService.from_settings(FraudSettings(model_dir=work / "model"), ledger)
    engine = service.scorer.engine
    t0 = time.perf_counter()
    for i in range(cards):
        when = EPOCH0 + 3_600 + i * 43_200 // cards
        engine.update_and_features(Payment(f"fill{i}", when, f"cus_{i:010d}", f"ter_{i % 1000:010d}", 10.0 + i % 90))
    log(f"fed {cards:,} cards in {time.perf_counter() - t0:.1f} s")
    partition = Partition(service, HashRing(1), 0, partition_dir(work / "fraud", 0))
    return partition, ledger


def measure(partition: Any, forked: bool, rate: float, saves: int, numbers: Iterator[int]) -> dict[str, Any]:
    """Score at ``rate``/s while saving ``saves`` times; latencies inside and outside the saves."""
    from finpilot.fraud import Payment
    from finpilot.fraud._serving import _forked_save, _partition

    _forked_save.CAN_FORK = forked and hasattr(os, "fork")
    _forked_save.FORK_ABOVE_BYTES = 0  # each mode whatever the size: the bench finds where forking pays
    service = partition.service
    stop = threading.Event()
    calls: list[tuple[float, float]] = []  # (start, seconds)

    def score() -> None:
        period = 1.0 / rate
        next_at = time.perf_counter()
        while not stop.is_set():
            next_at += period
            t0 = time.perf_counter()
            i = next(numbers)  # new payments only: a repeat would be answered from memory, unwritten
            service.score(Payment(f"p{i}", EPOCH0 + 50_000 + i, f"cus_{i % 1000:010d}", "ter_0000000001", 25.0))
            calls.append((t0, time.perf_counter() - t0))
            time.sleep(max(0.0, next_at - time.perf_counter()))

    windows: list[tuple[float, float]] = []
    held: list[float] = []
    # What save() does under the locks that grows with the state: the fork, or the copy. Timed by
    # wrapping the call (the rest of the locked section is a few small lists).
    engine = service.scorer.engine
    real_fork, real_copy = _partition.fork_snapshot, engine.snapshot

    def timed_fork(*a: Any) -> Any:
        t0 = time.perf_counter()
        try:
            return real_fork(*a)
        finally:
            held.append(time.perf_counter() - t0)

    def timed_copy() -> bytes:
        t0 = time.perf_counter()
        try:
            return real_copy()
        finally:
            held.append(time.perf_counter() - t0)

    _partition.fork_snapshot = timed_fork
    engine.snapshot = timed_copy
    thread = threading.Thread(target=score, daemon=True)
    thread.start()
    time.sleep(3.0)  # the calls before the first save are the "outside" baseline
    try:
        for _ in range(saves):
            t0 = time.perf_counter()
            before = len(held)
            partition.save(wait=True)
            # A copying save calls both (the fork declines at once): its locked cost is their sum.
            held[before:] = [sum(held[before:])]
            windows.append((t0, time.perf_counter()))
            # The tail thread's rounds, which remove the old snapshot file a step at a time.
            until = time.perf_counter() + 1.0
            while time.perf_counter() < until:
                partition.finish_save(wait=False)
                time.sleep(0.025)
    finally:
        _partition.fork_snapshot = real_fork
        del engine.snapshot
    stop.set()
    thread.join()
    walls = [b - a for a, b in windows]
    # A save's window runs to the next one: the old file's removal (tail rounds) is part of its cost.
    windows = [(a, windows[n + 1][0] if n + 1 < len(windows) else b + 1.0) for n, (a, b) in enumerate(windows)]
    within = [(t, s) for t, s in calls if any(a <= t <= b for a, b in windows)]
    inside = [s for _, s in within]
    # Where in its save the slowest calls started (ms after the save began): the fork, the write, the commit.
    slowest = sorted(((s, t - max(a for a, _ in windows if a <= t)) for t, s in within), reverse=True)[:5]
    outside = [s for t, s in calls if not any(a - 0.05 <= t <= b + 0.05 for a, b in windows)]
    return {
        "mode": "forked" if forked else "copied under the lock",
        "saves": saves,
        "locked_ms": [round(h * 1000, 2) for h in held],
        "locked_median_ms": round(statistics.median(held) * 1000, 2),
        "save_wall_ms_median": round(statistics.median(walls) * 1000, 1),
        "scores_inside_saves": len(inside),
        "inside_p50_ms": quantile(inside, 0.5),
        "inside_p99_ms": quantile(inside, 0.99),
        "inside_max_ms": quantile(inside, 1.0),
        "outside_p50_ms": quantile(outside, 0.5),
        "outside_p99_ms": quantile(outside, 0.99),
        "outside_max_ms": quantile(outside, 1.0),
        "slowest_inside_ms_at_ms": [[round(s * 1000, 1), round(at * 1000)] for s, at in slowest],
        # The file partition.json names: an older one may still be being cut away.
        "snapshot_bytes": (
            partition.directory / json.loads((partition.directory / "partition.json").read_text())["features"]
        )
        .stat()
        .st_size,
    }


def main() -> None:
    """Run the benchmark and print its JSON."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cards", type=int, default=1_000_000, help="customers in the scorer's state")
    ap.add_argument("--rate", type=float, default=200.0, help="score calls per second during the run")
    ap.add_argument("--saves", type=int, default=5, help="saves per mode")
    ap.add_argument("--rounds", type=int, default=2, help="alternations of the two modes")
    args = ap.parse_args()
    result: dict[str, Any] = {
        "benchmark": "fraud.snapshot_stall",
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
        "machine": {
            "nproc": os.cpu_count(),
            "python": sys.version.split()[0],
            "platform": platform.platform(),
            "loadavg_1_5_15": loadavg(),
        },
        "cards": args.cards,
        "rate": args.rate,
        "runs": [],
    }
    with tempfile.TemporaryDirectory(prefix="fp-stall-") as tmp:
        partition, ledger = build(args.cards, Path(tmp))
        try:
            numbers = itertools.count()
            for _ in range(args.rounds):
                for forked in (False, True):
                    run = measure(partition, forked, args.rate, args.saves, numbers)
                    result["runs"].append(run)
                    log(
                        f"{run['mode']}: lock held {run['locked_median_ms']} ms, "
                        f"inside p99 {run['inside_p99_ms']} ms max {run['inside_max_ms']} ms, "
                        f"outside p99 {run['outside_p99_ms']} ms"
                    )
        finally:
            ledger.close()
    by_mode: dict[str, list[dict[str, Any]]] = {}
    for run in result["runs"]:
        by_mode.setdefault(run["mode"], []).append(run)
    result["summary"] = {
        mode: {
            "locked_median_ms": round(statistics.median(h for r in runs for h in r["locked_ms"]), 2),
            "inside_max_ms_median": round(statistics.median(r["inside_max_ms"] for r in runs), 2),
            "inside_p99_ms_median": round(statistics.median(r["inside_p99_ms"] for r in runs), 2),
            "outside_p99_ms_median": round(statistics.median(r["outside_p99_ms"] for r in runs), 2),
        }
        for mode, runs in by_mode.items()
    }
    copied, forked = (result["summary"].get(m) for m in ("copied under the lock", "forked"))
    if copied and forked and forked["locked_median_ms"] > 0:
        result["locked_ratio_copied_over_forked"] = round(copied["locked_median_ms"] / forked["locked_median_ms"], 1)
    json.dump(result, sys.stdout, indent=2)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
