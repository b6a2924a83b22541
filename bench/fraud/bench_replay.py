"""Replay throughput of the streaming features: this tree against another checkout, same window.

Takes the first ``--rows`` payments of the handbook data set (a temporary plain CSV), then runs, for
``--runs`` rounds, one fresh child process per checkout (``--old``, e.g. a ``git worktree`` of main,
and this tree), alternating, so both see the same machine load. Each child reads the CSV, creates
a :class:`FeatureEngine` (timed apart: the numba kernels load then) and streams every row through
``stream_features`` exactly as ``finpilot fraud replay`` does (each label queued with the 7-day
delay, every vector kept), on one core. It reports payments per second and a hash of the float32
feature matrix, so the run also shows both checkouts computing the same features on real data.

Prints ONE JSON object on stdout; progress on stderr. Example:
    .venv/bin/python -m bench.fraud.bench_replay --old /work/wt-A-old > bench/out/fraud-replay.json
"""

from __future__ import annotations

import argparse
import datetime as dt
import gzip
import itertools
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parents[2]
DATA = HERE.parent / "shared/data/fraud-handbook/transactions.csv.gz"

CHILD = """
import hashlib, json, sys, time
from pathlib import Path
import numpy as np
import finpilot
from finpilot.fraud import FeatureEngine
from finpilot.fraud._csv import read_payments
from finpilot.fraud._replay._stream import stream_features
table = read_payments(Path(sys.argv[1]))
t0 = time.perf_counter()
engine = FeatureEngine()
start_s = time.perf_counter() - t0
res = stream_features(table, engine, np.ones(len(table), dtype=bool))
features = res.features.copy()
features[np.isnan(features)] = np.nan
print(json.dumps({
    "module": finpilot.__file__,
    "payments": res.streamed,
    "seconds": round(res.seconds, 3),
    "payments_per_s": round(res.streamed / res.seconds),
    "engine_start_s": round(start_s, 3),
    "features_sha256": hashlib.sha256(features.tobytes()).hexdigest(),
}))
"""


def log(*parts: object) -> None:
    """Progress goes to stderr; stdout carries the one JSON object."""
    print(*parts, file=sys.stderr, flush=True)


def loadavg() -> list[float]:
    """`uptime`'s 1/5/15-minute load averages."""
    return [round(x, 2) for x in os.getloadavg()]


def run_child(tree: Path, csv: Path) -> dict[str, Any]:
    """One replay in a fresh interpreter that imports finpilot from ``tree``."""
    env = {**os.environ, "PYTHONPATH": str(tree)}
    load = loadavg()
    done = subprocess.run(
        [sys.executable, "-c", CHILD, str(csv)], cwd=tree, env=env, capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(done.stderr[-2000:])
    res: dict[str, Any] = json.loads(done.stdout)
    if not res["module"].startswith(str(tree)):
        raise RuntimeError(f"{tree} ran {res['module']}")
    res["loadavg_before"] = load
    return res


def main() -> None:
    """Run the comparison and print its JSON."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--old", type=Path, required=True, help="a checkout of the code to compare against")
    ap.add_argument("--rows", type=int, default=2_000_000, help="first payments (default: all)")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--data", type=Path, default=DATA)
    args = ap.parse_args()
    trees = {"old": args.old.resolve(), "new": HERE}
    result: dict[str, Any] = {
        "benchmark": "fraud.replay",
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
        "trees": {k: str(v) for k, v in trees.items()},
        "machine": {"nproc": os.cpu_count(), "python": sys.version.split()[0], "platform": platform.platform()},
        "loadavg_start": loadavg(),
        "runs": {k: [] for k in trees},
    }
    with tempfile.TemporaryDirectory() as tmp:
        csv = Path(tmp) / "payments.csv"
        with gzip.open(args.data, "rt") as src, csv.open("w") as dst:
            dst.writelines(itertools.islice(src, args.rows + 1))
        for r in range(args.runs):
            for name, tree in trees.items():
                run = run_child(tree, csv)
                result["runs"][name].append(run)
                log(f"run {r + 1} {name}: {run['payments_per_s']:,} payments/s, load {run['loadavg_before']}")
    medians = {k: statistics.median(r["payments_per_s"] for r in v) for k, v in result["runs"].items()}
    result["median_payments_per_s"] = medians
    result["ratio_new_over_old"] = round(medians["new"] / medians["old"], 2)
    result["same_features"] = len({r["features_sha256"] for v in result["runs"].values() for r in v}) == 1
    result["loadavg_end"] = loadavg()
    json.dump(result, sys.stdout, indent=2)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
