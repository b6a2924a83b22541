"""Run one benchmark against two trees of finpilot, alternating, and compare a figure: A/B in one window.

The same benchmark code (this checkout's ``bench/``) measures the library of the baseline revision
and of this checkout, in alternating rounds, so that machine load drifts over both alike. Prints
ONE JSON object: per metric, each tree's runs and median, and the ratio current / baseline.

Example (the batched-append figure against the tree before the entry-kind registry)::

    .venv/bin/python -m bench.ab --baseline d116a8c --rounds 5 \\
        --metric target1_batched.typical.median_entries_per_s -- \\
        bench.audit.bench_append --repeat 1 --n 100000 --shapes typical --conc-shapes typical --seconds 3 --no-pymerkle
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from bench.audit._common import header, log

REPO = Path(__file__).resolve().parents[1]


def _dig(obj: Any, path: str) -> float:
    for part in path.split("."):
        obj = obj[part]
    return float(obj)


def _run(tree: Path, bench_root: Path | None, module: str, args: list[str]) -> dict[str, Any]:
    # bench_root holds only a link to this checkout's bench/, so `bench` is ours and `finpilot` is the
    # tree's; without it each tree runs its own bench/ (when the API it measures changed shape).
    paths = [str(tree), str(tree / "examples/payments")]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(bench_root), *paths] if bench_root else paths)}
    done = subprocess.run(
        [sys.executable, "-m", module, *args],
        env=env,
        cwd=bench_root or tree,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise SystemExit(f"{module} failed on {tree}:\n{done.stderr[-3000:]}")
    return dict(json.loads(done.stdout))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--baseline", required=True, help="git revision to compare against (e.g. a commit before a change)")
    ap.add_argument("--rounds", type=int, default=5, help="alternating rounds (each runs both trees once)")
    ap.add_argument("--metric", action="append", required=True, help="dotted path of a figure in the bench's JSON")
    ap.add_argument(
        "--own-bench",
        action="store_true",
        help="run each tree's own bench/ module (when the measured API changed between the trees)",
    )
    ap.add_argument("bench", nargs=argparse.REMAINDER, help="-- MODULE [ARGS...]")
    args = ap.parse_args()
    bench = [a for a in args.bench if a != "--"]
    if not bench:
        raise SystemExit("name the benchmark module after --")
    module, bench_args = bench[0], bench[1:]
    res = header("ab", args)
    with tempfile.TemporaryDirectory(prefix="finpilot-ab-") as tmp:
        base_tree = Path(tmp) / "baseline"
        subprocess.run(
            ["git", "-C", str(REPO), "worktree", "add", "--detach", "-q", str(base_tree), args.baseline], check=True
        )
        bench_root = Path(tmp) / "bench-root"
        bench_root.mkdir()
        (bench_root / "bench").symlink_to(REPO / "bench")
        try:
            values: dict[str, dict[str, list[float]]] = {m: {"baseline": [], "current": []} for m in args.metric}
            for r in range(args.rounds):
                # Alternate who goes first, so neither tree always meets the warmer (or busier) machine.
                order = [("baseline", base_tree), ("current", REPO)]
                for name, tree in order if r % 2 == 0 else reversed(order):
                    out = _run(tree, None if args.own_bench else bench_root, module, bench_args)
                    for m in args.metric:
                        values[m][name].append(_dig(out, m))
                    log(f"round {r + 1} {name}: " + ", ".join(f"{m}={values[m][name][-1]:,.1f}" for m in args.metric))
        finally:
            subprocess.run(["git", "-C", str(REPO), "worktree", "remove", "--force", str(base_tree)], check=False)
    res["baseline_rev"] = args.baseline
    res["bench"] = bench
    res["metrics"] = {
        m: {
            "baseline": {"runs": v["baseline"], "median": statistics.median(v["baseline"])},
            "current": {"runs": v["current"], "median": statistics.median(v["current"])},
            "ratio_current_over_baseline": round(statistics.median(v["current"]) / statistics.median(v["baseline"]), 4),
        }
        for m, v in values.items()
    }
    print(json.dumps(res, indent=2))


if __name__ == "__main__":
    main()
