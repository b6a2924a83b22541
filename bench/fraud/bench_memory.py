"""Memory per customer and per terminal in the columnar feature state, at 1 M and 10 M entities.

For each size and entity kind a fresh child process takes its baseline, then feeds one payment per
entity through :meth:`FeatureEngine.update_and_features` (``customers`` mode: N customers paying at
1,000 terminals; ``terminals`` mode: N terminals paid by 1,000 customers) and measures:

* ``RssAnon`` growth per entity (anonymous resident memory: the row blocks, the id map and its keys);
  a row has a fixed size whatever the entity's history (its 30- or 38-day ring is allocated whole),
  so one payment per entity weighs the same row as a year of payments;
* the blocks' allocated capacity against their used rows, and the GC-tracked object count;
* a snapshot (the current version) written to a file (:meth:`FeatureEngine.snapshot_to`): bytes and seconds;
* a restore from an mmap of that file, after the fed engine is dropped: seconds, and a check that
  the restored engine's next vector equals the original's.

Entity ids are 14 characters (``cus_0000000001``). Labels are not queued: pending labels are per
payment, not per entity. Prints ONE JSON object on stdout; progress on stderr. Example:
    .venv/bin/python -m bench.fraud.bench_memory --sizes 1000000,10000000 > bench/out/fraud-memory.json
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import json
import mmap
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

EPOCH0 = 1_767_225_600  # 2026-01-01T00:00:00Z
OTHERS = 1_000  # entities of the other kind
OUT = Path(__file__).resolve().parents[2] / "bench" / "out"


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


def child(size: int, kind: str, snapshot_dir: str) -> dict[str, Any]:
    """One measurement in this (fresh) process."""
    from finpilot.fraud import FeatureEngine, Payment
    from finpilot.fraud._features._engine import kernel_load_seconds

    t0 = time.perf_counter()
    engine = FeatureEngine()
    start_s = time.perf_counter() - t0
    gc.collect()
    tracked0 = len(gc.get_objects())
    before = proc_status()
    t0 = time.perf_counter()
    for i in range(size):
        other = i % OTHERS
        customer, terminal = (i, other) if kind == "customers" else (other, i)
        when = EPOCH0 + 3_600 + i * 43_200 // size  # in time order, all on one day
        payment = Payment(f"tx{i}", when, f"cus_{customer:010d}", f"ter_{terminal:010d}", 10.0 + i % 90)
        engine.update_and_features(payment)
        if i and i % 2_000_000 == 0:
            log(f"    {i:,}/{size:,} payments")
    feed_s = time.perf_counter() - t0
    gc.collect()
    after = proc_status()
    store = engine._customers if kind == "customers" else engine._terminals  # private on purpose: weighs the state
    out: dict[str, Any] = {
        "kind": kind,
        "entities": size,
        "entities_seen": engine.entities,
        "engine_start_s": round(start_s, 3),
        "kernel_load_s": round(kernel_load_seconds() or 0.0, 3),
        "feed_s": round(feed_s, 1),
        "payments_per_s": round(size / feed_s),
        "rss_anon_growth_bytes": after["RssAnon"] - before["RssAnon"],
        "rss_bytes_per_entity": round((after["RssAnon"] - before["RssAnon"]) / size, 1),
        "row_bytes": sum(a.itemsize * a.shape[1] for a in store.blocks[0]),
        "capacity_rows_over_used": round(len(store.blocks) * store.blocks[0][0].shape[0] / len(store), 4),
        "gc_tracked_objects_growth": len(gc.get_objects()) - tracked0,
        "loadavg_after_feed": loadavg(),
    }
    probe = Payment("probe", EPOCH0 + 86_000, "cus_0000000001", "ter_0000000001", 55.5)
    path = Path(snapshot_dir) / f"features-{kind}-{size}.snapshot"
    t0 = time.perf_counter()
    with path.open("wb") as fh:
        out["snapshot_bytes"] = engine.snapshot_to(fh)
    out["snapshot_s"] = round(time.perf_counter() - t0, 2)
    expected = engine.update_and_features(probe)
    del engine, store
    gc.collect()
    t0 = time.perf_counter()
    with path.open("rb") as fh, mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as view:
        restored = FeatureEngine.restore(view)
    out["restore_s"] = round(time.perf_counter() - t0, 2)
    out["restored_vector_equal"] = repr(restored.update_and_features(probe)) == repr(expected)
    out["peak_rss_bytes"] = proc_status()["VmHWM"]
    path.unlink()
    return out


def run_child(size: int, kind: str, snapshot_dir: str) -> dict[str, Any]:
    """The measurement in a fresh interpreter, so earlier sizes leave nothing behind."""
    cmd = [sys.executable, str(Path(__file__).resolve()), "--child", str(size), "--kind", kind, "--dir", snapshot_dir]
    load = loadavg()
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(done.stderr[-2000:])
    res: dict[str, Any] = json.loads(done.stdout)
    res["loadavg_before"] = load
    return res


def main() -> None:
    """Run the benchmark (or, with --child, one measurement) and print its JSON."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="1000000,10000000", help="entities per run")
    ap.add_argument("--kinds", default="customers,terminals")
    ap.add_argument("--dir", default=tempfile.gettempdir(), help="where snapshots are written (and removed)")
    ap.add_argument("--child", type=int, help=argparse.SUPPRESS)
    ap.add_argument("--kind", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        json.dump(child(args.child, args.kind, args.dir), sys.stdout)
        sys.stdout.write("\n")
        return
    import numpy as np

    OUT.mkdir(parents=True, exist_ok=True)
    result: dict[str, Any] = {
        "benchmark": "fraud.memory",
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
        "machine": {
            "nproc": os.cpu_count(),
            "python": sys.version.split()[0],
            "platform": platform.platform(),
            "numpy": np.__version__,
            "loadavg_1_5_15": loadavg(),
        },
        "runs": [],
    }
    for size in (int(s) for s in args.sizes.split(",")):
        for kind in args.kinds.split(","):
            run = run_child(size, kind, args.dir)
            result["runs"].append(run)
            log(
                f"{size:,} {kind}: {run['rss_bytes_per_entity']} B/entity, "
                f"snapshot {run['snapshot_bytes'] / 2**20:.0f} MiB in {run['snapshot_s']} s, "
                f"restore {run['restore_s']} s, feed {run['payments_per_s']:,}/s"
            )
            # A long run that is stopped early still leaves what it measured.
            (OUT / "fraud-memory.partial.json").write_text(json.dumps(result, indent=2))
    json.dump(result, sys.stdout, indent=2)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
