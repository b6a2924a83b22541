"""Run every audit-ledger benchmark, one after another, and merge their JSON into one object.

Each benchmark runs in its own process (sequentially: on a 2-core machine, overlapping runs would
measure each other). Their progress goes to stderr; the merged JSON goes to stdout and to
bench/out/results-<UTC timestamp>.json, with each benchmark's raw JSON under ``results``.

    .venv/bin/python -m bench.audit.run_all                      # SQLite and PostgreSQL, full sizes
    .venv/bin/python -m bench.audit.run_all --backends sqlite --quick
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from bench.audit._common import OUT, REPO, emit, loadavg, log, machine, source


def run(module: str, extra: list[str]) -> dict[str, Any]:
    cmd = [sys.executable, "-m", f"bench.audit.{module}", *extra]
    log(f"\n=== {' '.join(cmd[1:])}")
    load_before = loadavg()
    t = time.perf_counter()
    out = subprocess.run(cmd, cwd=REPO, stdout=subprocess.PIPE, text=True, check=False)
    wall = time.perf_counter() - t
    load = {"before": load_before, "after": loadavg()}
    log(f"    loadavg 1/5/15 before {load['before']} after {load['after']}")
    if out.returncode != 0:
        return {
            "error": f"exit {out.returncode}",
            "command": " ".join(cmd[1:]),
            "wall_s": round(wall, 1),
            "loadavg_1_5_15": load,
        }
    res: dict[str, Any] = json.loads(out.stdout)
    res["wall_s"] = round(wall, 1)
    res["loadavg_1_5_15"] = load
    return res


def digest(results: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """The headline figures per backend: median, target, pass."""
    out: dict[str, Any] = {}
    for backend, r in results.items():
        row: dict[str, Any] = {}
        a = r.get("append", {})
        if "target1_batched" in a:
            for shape, b in a["target1_batched"].items():
                if "target" in b:
                    row[f"1_batched_{shape}"] = {
                        **b["target"],
                        "ratio_vs_pymerkle": b.get("ratio_finpilot_over_pymerkle"),
                    }
            for shape, c in a["target2_concurrent"].items():
                row[f"2_concurrent_64_{shape}"] = c["target"]
            row["2_fsync_ms"] = a["fsync"]["fsync_ms"]
            for shape, c in a["target3_checkpoint_latency"].items():
                row[f"3_ack_to_checkpoint_p99_{shape}"] = c["target"]
        p = r.get("proofs", {})
        if "targets" in p:
            row["4_proofs"] = p["targets"]
            row["4_growth"] = p.get("growth_vs_smallest")
        v = r.get("verify", {})
        if "target5_verify" in v:
            row["5_verify"] = v["target5_verify"]["target"]
        out[backend] = row
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--backends", default="sqlite,postgres")
    ap.add_argument("--quick", action="store_true", help="small sizes, one repeat: checks the scripts run")
    ap.add_argument("--append-repeat", type=int, default=5)
    ap.add_argument("--proof-repeat", type=int, default=5)
    ap.add_argument("--verify-repeat", type=int, default=3)
    ap.add_argument("--sqlite-proof-sizes", default="100000,1000000,10000000")
    ap.add_argument("--pg-proof-sizes", default="100000,1000000")
    args = ap.parse_args()
    started = _dt.datetime.now(_dt.UTC)
    results: dict[str, dict[str, Any]] = {}
    for backend in args.backends.split(","):
        b = ["--backend", backend]
        if args.quick:
            results[backend] = {
                "append": run(
                    "bench_append", [*b, "--repeat", "1", "--n", "20000", "--seconds", "1", "--single", "200"]
                ),
                "proofs": run(
                    "bench_proofs", [*b, "--n", "1000,10000", "--repeat", "1", "--warm", "50", "--pymerkle-n", "0"]
                ),
                "verify": run("bench_verify", [*b, "--n", "10000", "--repeat", "1", "--no-pymerkle"]),
            }
            continue
        sizes = args.sqlite_proof_sizes if backend == "sqlite" else args.pg_proof_sizes
        extra = ["--profile"] if backend == "sqlite" else []
        results[backend] = {
            "append": run("bench_append", [*b, "--repeat", str(args.append_repeat), *extra]),
            "proofs": run(
                "bench_proofs",
                [
                    *b,
                    "--n",
                    sizes,
                    "--repeat",
                    str(args.proof_repeat),
                    "--profile",
                    *([] if backend == "sqlite" else ["--pymerkle-n", "0"]),
                ],
            ),
            "verify": run("bench_verify", [*b, "--repeat", str(args.verify_repeat), "--profile"]),
        }
    digests = {r.get("source", {}).get("finpilot_sources_sha256") for rs in results.values() for r in rs.values()}
    audit = {r.get("source", {}).get("finpilot_audit_sha256") for rs in results.values() for r in rs.values()}
    end_source = source()
    digests.add(end_source["finpilot_sources_sha256"])
    audit.add(end_source["finpilot_audit_sha256"])
    merged = {
        "benchmark": "audit.all",
        "source": end_source,
        "source_changed_during_run": len(digests - {None}) > 1,
        "audit_source_changed_during_run": len(audit - {None}) > 1,
        "date": started.isoformat(timespec="seconds"),
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
        "machine": machine(),
        "summary": digest(results),
        "results": results,
    }
    if merged["audit_source_changed_during_run"]:
        log("WARNING: finpilot/audit changed while the benchmarks ran; the figures mix code versions")
    elif merged["source_changed_during_run"]:
        log("note: finpilot sources outside finpilot/audit changed while the benchmarks ran")
    OUT.mkdir(parents=True, exist_ok=True)
    path = OUT / f"results-{started.strftime('%Y%m%dT%H%M%SZ')}.json"
    path.write_text(json.dumps(merged, indent=2, default=str) + "\n")
    log(f"\nmerged results written to {path}")
    emit(merged)


if __name__ == "__main__":
    main()
