"""Memory per tracked customer in the streaming feature engine, extrapolated to 1 M customers.

For each size (default 10 k, 30 k and 100 k customers, with twice as many terminals as in the
handbook) a fresh child process builds the payment stream as numpy arrays (outside Python's object
heap), takes its baseline, feeds every payment through :meth:`FeatureEngine.update_and_features`
and measures what stayed:

* ``RssAnon`` growth (anonymous resident memory, what the kernel actually holds for the heap);
* a deep ``sys.getsizeof`` walk of the engine's state (customers, terminals, pending labels);
* in a second child, ``tracemalloc``'s traced bytes (exact Python allocations; slower, so by
  default only for the sizes up to ``--tracemalloc-max``; it is deterministic, so one run each);
* the JSON snapshot (:meth:`FeatureEngine.snapshot`) size and the time to make it.

The stream has :func:`finpilot.fraud.iter_payments`' shape (per-customer mean amount U(5, 100) and
rate U(0, 4) payments a day, amounts N(mean, mean/2), each customer paying at 20 terminals) and
``--days`` days (default 30: every customer's 30-day ring is in use, the steady state), drawn with
numpy because the pure-Python generator would take longer than the engine. Labels: fraud payments
(a ``--fraud-share`` of them) get a chargeback label queued with the default 7-day delay, as the live
service does. A linear fit over the sizes gives bytes per customer and the 1 M figure.

Prints ONE JSON object on stdout; progress on stderr. Example:
    .venv/bin/python -m bench.fraud.bench_memory > bench/out/fraud-memory.json
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

EPOCH0 = 1_767_225_600  # 2026-01-01T00:00:00Z
OUT = Path(__file__).resolve().parents[2] / "bench" / "out"
DAY_S = 86_400


def log(*parts: object) -> None:
    """Progress goes to stderr; stdout carries the one JSON object."""
    print(*parts, file=sys.stderr, flush=True)


def loadavg() -> list[float]:
    """`uptime`'s 1/5/15-minute load averages."""
    return [round(x, 2) for x in os.getloadavg()]


def proc_status() -> dict[str, int]:
    """RssAnon, VmRSS and VmHWM of this process, bytes."""
    out = {}
    for line in Path("/proc/self/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name in ("RssAnon", "VmRSS", "VmHWM"):
            out[name] = int(value.split()[0]) * 1024
    return out


def stream(customers: int, terminals: int, days: int, fraud_share: float, seed: int) -> dict[str, Any]:
    """The payments as numpy arrays in time order (iter_payments' distribution, vectorised)."""
    import numpy as np

    rng = np.random.default_rng(seed)
    means = rng.uniform(5, 100, customers)
    rates = rng.uniform(0, 4, customers)
    near = np.stack([rng.choice(terminals, size=20, replace=False) for _ in range(customers)])
    per_day = rng.poisson(np.tile(rates, days))  # customer-day counts, day-major
    cust = np.repeat(np.tile(np.arange(customers), days), per_day)
    day = np.repeat(np.repeat(np.arange(days), customers), per_day)
    seconds = rng.normal(43_200, 20_000, cust.size).astype(np.int64)
    keep = (seconds >= 0) & (seconds < DAY_S)
    cust, day, seconds = cust[keep], day[keep], seconds[keep]
    times = EPOCH0 + day * DAY_S + seconds
    amount = np.round(np.maximum(0.01, rng.normal(means[cust], means[cust] / 2)), 2)
    term = near[cust, rng.integers(0, 20, cust.size)]
    order = np.argsort(times, kind="stable")
    fraud = rng.random(cust.size) < fraud_share
    return {
        "times": times[order],
        "cust": cust[order].astype(np.int32),
        "term": term[order].astype(np.int32),
        "amount": amount[order],
        "fraud": fraud,
    }


def deep_size(engine: Any) -> dict[str, int]:
    """Bytes of the engine's state by part: a getsizeof walk that counts each object once."""
    seen: set[int] = set()

    def size(obj: Any) -> int:
        if id(obj) in seen:
            return 0
        seen.add(id(obj))
        total = sys.getsizeof(obj)
        if isinstance(obj, dict):
            total += sum(size(k) + size(v) for k, v in obj.items())
        elif isinstance(obj, (list, tuple)):
            total += sum(size(x) for x in obj)
        elif hasattr(obj, "__slots__"):
            total += sum(size(getattr(obj, s)) for s in obj.__slots__ if hasattr(obj, s))
        return total

    customers = engine._customers  # private on purpose: the benchmark weighs the state itself
    terminals = engine._terminals
    return {
        "customers_dict": sys.getsizeof(customers),
        "customer_keys": sum(size(k) for k in customers),
        "customer_states": sum(size(v) for v in customers.values()),
        "terminals_dict": sys.getsizeof(terminals),
        "terminal_keys": sum(size(k) for k in terminals),
        "terminal_states": sum(size(v) for v in terminals.values()),
        "pending_labels": size(engine._pending),
    }


def child(args: Any) -> dict[str, Any]:
    """One measurement in this (fresh) process."""
    import tracemalloc

    from finpilot.fraud import FeatureEngine, Payment

    n_cust = args.child
    data = stream(n_cust, 2 * n_cust, args.days, args.fraud_share, args.seed)
    n = int(data["times"].size)
    gc.collect()
    if args.tracemalloc:
        tracemalloc.start()
    before = proc_status()
    traced0 = tracemalloc.get_traced_memory()[0] if args.tracemalloc else 0
    engine = FeatureEngine()
    t0 = time.perf_counter()
    chunk = 20_000
    for start in range(0, n, chunk):
        stop = min(n, start + chunk)
        rows = zip(
            data["times"][start:stop].tolist(),
            data["cust"][start:stop].tolist(),
            data["term"][start:stop].tolist(),
            data["amount"][start:stop].tolist(),
            data["fraud"][start:stop].tolist(),
            strict=True,
        )
        for i, (when, c, t, amount, fraud) in enumerate(rows, start):
            payment = Payment(f"tx{i}", when, f"cus_{c:010d}", f"term_{t:08d}", amount)
            engine.update_and_features(payment)
            if fraud:
                engine.observe_label(payment, True)
        if args.verbose and start % 1_000_000 < chunk:
            log(f"    {stop:,}/{n:,} payments")
    feed_s = time.perf_counter() - t0
    del rows
    gc.collect()
    after = proc_status()
    out: dict[str, Any] = {
        "customers": n_cust,
        "terminals_seen": engine.entities[1],
        "customers_seen": engine.entities[0],
        "payments": n,
        "payments_per_customer": round(n / n_cust, 1),
        "pending_labels": engine.pending_labels,
        "feed_s": round(feed_s, 1),
        "payments_per_s": round(n / feed_s),
        "loadavg_after_feed": loadavg(),
    }
    if args.tracemalloc:
        out["tracemalloc_bytes"] = tracemalloc.get_traced_memory()[0] - traced0
        tracemalloc.stop()
        return out
    out["rss_anon_growth_bytes"] = after["RssAnon"] - before["RssAnon"]
    out["rss_anon_before_bytes"] = before["RssAnon"]
    out["deep_size_bytes"] = deep_size(engine)
    t = time.perf_counter()
    snap = engine.snapshot()
    out["snapshot_s"] = round(time.perf_counter() - t, 2)
    out["snapshot_bytes"] = len(snap)
    out["snapshot_peak_rss_over_after_bytes"] = proc_status()["VmHWM"] - after["VmRSS"]
    del snap
    return out


def run_child(size: int, args: Any, trace: bool) -> dict[str, Any]:
    """The measurement in a fresh interpreter, so earlier sizes leave nothing behind."""
    cmd = [
        sys.executable,
        str(Path(__file__).resolve()),
        "--child",
        str(size),
        "--days",
        str(args.days),
        "--fraud-share",
        str(args.fraud_share),
        "--seed",
        str(args.seed),
    ]
    if trace:
        cmd.append("--tracemalloc")
    if args.verbose:
        cmd.append("--verbose")
    load = loadavg()
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(done.stderr[-2000:])
    res: dict[str, Any] = json.loads(done.stdout)
    res["loadavg_before"] = load
    return res


def fit(xs: list[float], ys: list[float]) -> tuple[float, float]:
    """Least-squares intercept and slope."""
    mx, my = statistics.fmean(xs), statistics.fmean(ys)
    slope = sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / sum((x - mx) ** 2 for x in xs)
    return my - slope * mx, slope


def main() -> None:
    """Run the benchmark (or, with --child, one measurement) and print its JSON."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="10000,30000,100000", help="customers per run (terminals: twice as many)")
    ap.add_argument("--repeat", type=int, default=3, help="RSS runs per size")
    ap.add_argument("--repeat-largest", type=int, help="RSS runs of the largest size (default: --repeat)")
    ap.add_argument("--days", type=int, default=30)
    ap.add_argument("--fraud-share", type=float, default=0.01, help="payments labelled fraud (queued labels)")
    ap.add_argument("--seed", type=int, default=3)
    ap.add_argument("--tracemalloc-max", type=int, default=30_000, help="largest size also run under tracemalloc")
    ap.add_argument("--extrapolate", type=int, default=1_000_000)
    ap.add_argument("--verbose", action="store_true")
    ap.add_argument("--child", type=int, help=argparse.SUPPRESS)
    ap.add_argument("--tracemalloc", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        json.dump(child(args), sys.stdout)
        sys.stdout.write("\n")
        return
    import numpy as np

    sizes = [int(s) for s in args.sizes.split(",")]
    OUT.mkdir(parents=True, exist_ok=True)
    result: dict[str, Any] = {
        "benchmark": "fraud.memory",
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
        "args": vars(args),
        "machine": {
            "nproc": os.cpu_count(),
            "python": sys.version.split()[0],
            "platform": platform.platform(),
            "numpy": np.__version__,
            "loadavg_1_5_15": loadavg(),
        },
        "sizes": {},
    }
    for size in sizes:
        runs = []
        repeat = args.repeat_largest if size == max(sizes) and args.repeat_largest else args.repeat
        for r in range(repeat):
            runs.append(run_child(size, args, trace=False))
            log(
                f"{size:,} customers run {r + 1}: RSS +{runs[-1]['rss_anon_growth_bytes'] / 2**20:.1f} MiB, "
                f"{runs[-1]['payments']:,} payments in {runs[-1]['feed_s']} s, load {runs[-1]['loadavg_after_feed']}"
            )
        growth = [r["rss_anon_growth_bytes"] for r in runs]
        entry: dict[str, Any] = {
            "rss_anon_growth_bytes": {"median": statistics.median(growth), "min": min(growth), "max": max(growth)},
            "rss_bytes_per_customer_median": round(statistics.median(growth) / size, 1),
            "deep_size_bytes_per_customer": round(sum(runs[0]["deep_size_bytes"].values()) / size, 1),
            "snapshot_bytes_per_customer": round(runs[0]["snapshot_bytes"] / size, 1),
            "runs": runs,
        }
        if size <= args.tracemalloc_max:
            traced = run_child(size, args, trace=True)
            log(f"{size:,} customers tracemalloc: {traced['tracemalloc_bytes'] / 2**20:.1f} MiB")
            entry["tracemalloc"] = traced
            entry["tracemalloc_bytes_per_customer"] = round(traced["tracemalloc_bytes"] / size, 1)
        result["sizes"][str(size)] = entry
        # A long run that is stopped early still leaves what it measured.
        (OUT / "fraud-memory.partial.json").write_text(json.dumps(result, indent=2, default=str))
    sizes = sorted(sizes)
    xs = [float(s) for s in sizes]
    summary: dict[str, Any] = {}
    picks: tuple[tuple[str, Callable[[dict[str, Any]], Any]], ...] = (
        ("rss_anon", lambda e: e["rss_anon_growth_bytes"]["median"]),
        ("deep_size", lambda e: sum(e["runs"][0]["deep_size_bytes"].values())),
        ("snapshot", lambda e: e["runs"][0]["snapshot_bytes"]),
    )
    for name, pick in picks:
        ys = [float(pick(result["sizes"][str(s)])) for s in sizes]
        if len(xs) >= 2:
            intercept, slope = fit(xs, ys)
            summary[name] = {
                "bytes_per_customer_slope": round(slope, 1),
                "intercept_bytes": round(intercept),
                "per_customer_at_each_size": [round(y / x, 1) for x, y in zip(xs, ys, strict=True)],
                "max_residual_pct": round(
                    max(abs(y - (intercept + slope * x)) / y * 100 for x, y in zip(xs, ys, strict=True)), 2
                ),
                f"extrapolated_gib_at_{args.extrapolate}": round((intercept + slope * args.extrapolate) / 2**30, 3),
            }
    result["fit"] = summary
    json.dump(result, sys.stdout, indent=2, default=str)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
