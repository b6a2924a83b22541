"""Proof benchmarks for the audit ledger (target 4) with the pymerkle 7 anchor in the same run.

For each size (default 100k, 1M, 10M on SQLite; 100k and 1M on PostgreSQL):
  * warm: in this process, after one proof, many inclusion proofs of random indices and
    consistency proofs from random old sizes to the latest checkpoint (median, p99);
  * cold: a fresh ``python -c`` process per sample; the time from the start of the proof work
    (open_ledger + first proof, imports excluded) is the cold figure; imports and the whole
    ``python -c`` wall time are reported beside it. The OS page cache is NOT dropped.
Growth with size is reported as ratios against the 100k figure, next to log2(n) and n ratios.

SQLite ledgers are built once into bench/out/ledger-<size> and reused. PostgreSQL ledgers are
built into a fresh schema and dropped at the end. The pymerkle anchor (SqliteTree over the
same 1M leaf bytes, built once into bench/out/pymerkle-1m.db) is timed cold the same way.

Prints ONE JSON object on stdout; progress on stderr. Example:
    .venv/bin/python -m bench.audit.bench_proofs --backend sqlite
"""

from __future__ import annotations

import argparse
import cProfile
import json
import math
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from bench.audit._common import (
    OUT,
    REPO,
    build,
    drop_schema,
    emit,
    header,
    log,
    new_schema,
    pg_settings,
    profile_top,
    settings_for,
    size_label,
    sqlite_ledger_dir,
    summary,
    target,
)

COLD = r"""
import json, sys, time
t_start = time.perf_counter()
args = json.loads(sys.argv[1])
sys.path.insert(0, args["repo"])
from pathlib import Path
from finpilot.audit import open_ledger
from bench.audit._common import settings_for
settings = settings_for(args["backend"], Path(args["data_dir"]), args.get("schema"))
t_b = time.perf_counter()
# open_ledger imports its backend lazily (sqlite3 / psycopg): time that import on its own
import importlib
importlib.import_module("finpilot.audit._sqlite" if args["backend"] == "sqlite" else "finpilot.audit._postgres")
t0 = time.perf_counter()
ledger = open_ledger(settings)
t1 = time.perf_counter()
if args["kind"] == "inclusion":
    proof = ledger.inclusion_proof(args["index"])
    n = len(proof.hashes)
else:
    proof = ledger.consistency_proof(args["old"])
    n = len(proof.hashes)
t2 = time.perf_counter()
ledger.close()
print(json.dumps({"imports_s": t_b - t_start, "backend_import_s": t0 - t_b, "open_s": t1 - t0, "proof_s": t2 - t1,
                  "work_s": t2 - t0, "work_incl_backend_import_s": t2 - t_b, "hashes": n}))
"""

PYM_COLD = r"""
import json, sys, time
t_start = time.perf_counter()
args = json.loads(sys.argv[1])
import pymerkle
t0 = time.perf_counter()
tree = pymerkle.SqliteTree(args["path"])
t1 = time.perf_counter()
if args["kind"] == "inclusion":
    proof = tree.prove_inclusion(args["index"] + 1)
else:
    proof = tree.prove_consistency(args["old"])
t2 = time.perf_counter()
# a second proof in the same process: pymerkle's subroot cache is now warm for the shared parts
idx2 = args["index2"] + 1
t3 = time.perf_counter()
tree.prove_inclusion(idx2)
t4 = time.perf_counter()
tree.close()
print(json.dumps({"imports_s": t0 - t_start, "open_s": t1 - t0, "proof_s": t2 - t1, "work_s": t2 - t0,
                  "second_proof_s": t4 - t3}))
"""


def run_cold(code: str, payload: dict[str, Any]) -> dict[str, Any]:
    t = time.perf_counter()
    out = subprocess.run(
        [sys.executable, "-c", code, json.dumps(payload)], capture_output=True, text=True, check=False, cwd=REPO
    )
    wall = time.perf_counter() - t
    if out.returncode != 0:
        raise RuntimeError(out.stderr[-2000:])
    res: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    res["python_c_wall_s"] = wall
    return res


def ms(values: list[float]) -> dict[str, Any]:
    return summary([v * 1000 for v in values], 4)


def warm(ledger: Any, size: int, count: int, rng: random.Random) -> dict[str, Any]:
    from finpilot.audit import verify_consistency_proof, verify_inclusion_proof

    ledger.inclusion_proof(size // 2)  # first proof: caches the checkpoint lookup path, tiles near the top
    inc, con = [], []
    for _ in range(count):
        i = rng.randrange(size)
        t = time.perf_counter()
        p = ledger.inclusion_proof(i)
        inc.append(time.perf_counter() - t)
    for _ in range(count):
        old = rng.randrange(1, size + 1)
        t = time.perf_counter()
        c = ledger.consistency_proof(old)
        con.append(time.perf_counter() - t)
    # the proofs must be right, or their speed means nothing
    assert verify_inclusion_proof(p.to_json(), ledger.verifier_key())
    assert verify_consistency_proof(c.to_json())
    same = []
    for _ in range(min(count, 500)):
        t = time.perf_counter()
        ledger.inclusion_proof(size // 3)
        same.append(time.perf_counter() - t)
    return {
        "inclusion_random_ms": ms(inc),
        "consistency_random_ms": ms(con),
        "inclusion_same_index_ms": ms(same),
        "proof_hashes": len(p.hashes),
    }


def cold(backend: str, data_dir: Path, schema: str | None, size: int, runs: int, rng: random.Random) -> dict[str, Any]:
    base = {"repo": str(REPO), "backend": backend, "data_dir": str(data_dir), "schema": schema}
    inc = [run_cold(COLD, {**base, "kind": "inclusion", "index": rng.randrange(size)}) for _ in range(runs)]
    con = [run_cold(COLD, {**base, "kind": "consistency", "old": rng.randrange(1, size + 1)}) for _ in range(runs)]

    def agg(rows: list[dict[str, Any]]) -> dict[str, Any]:
        keys = (
            "work_s",
            "work_incl_backend_import_s",
            "open_s",
            "proof_s",
            "backend_import_s",
            "imports_s",
            "python_c_wall_s",
        )
        return {k: ms([r[k] for r in rows]) for k in keys}

    return {"inclusion": agg(inc), "consistency": agg(con)}


def pymerkle_anchor(n: int, runs: int, rng: random.Random) -> dict[str, Any]:
    import pymerkle

    from bench.audit._common import make_entries
    from finpilot.audit._entry import prepare

    path = OUT / f"pymerkle-{size_label(n)}.db"
    marker = OUT / f"pymerkle-{size_label(n)}.BUILT"
    build_info = None
    if not marker.exists():
        path.unlink(missing_ok=True)
        log(f"building pymerkle SqliteTree of {n:,} leaves in {path} (once)")
        tree = pymerkle.SqliteTree(str(path))
        t = time.perf_counter()
        for start in range(0, n, 100_000):
            k = min(100_000, n - start)
            tree.append_entries([prepare(e, "2026-11-28T00:00:00.000000Z", 65536).data for e in make_entries(k, start)])
        build_info = {"seconds_incl_prepare": round(time.perf_counter() - t, 1)}
        tree.close()
        marker.write_text(json.dumps(build_info))
    payload = {"path": str(path)}
    inc = [
        run_cold(
            PYM_COLD, {**payload, "kind": "inclusion", "index": rng.randrange(n), "index2": rng.randrange(n), "old": 1}
        )
        for _ in range(runs)
    ]
    con = [
        run_cold(
            PYM_COLD,
            {**payload, "kind": "consistency", "index": 0, "index2": rng.randrange(n), "old": rng.randrange(1, n + 1)},
        )
        for _ in range(runs)
    ]
    return {
        "size": n,
        "built_now": build_info,
        "cold_inclusion_ms": {k: ms([r[k] for r in inc]) for k in ("work_s", "proof_s", "open_s", "python_c_wall_s")},
        "second_inclusion_same_process_ms": ms([r["second_proof_s"] for r in inc + con]),
        "cold_consistency_ms": {k: ms([r[k] for r in con]) for k in ("work_s", "proof_s")},
    }


def profile_warm(ledger: Any, size: int, count: int, rng: random.Random) -> dict[str, Any]:
    """cProfile (wall clock) around the public proof calls, after the timed warm runs."""
    out: dict[str, Any] = {"size": size, "proofs_per_kind": count}
    for kind in ("inclusion", "consistency"):
        prof = cProfile.Profile()
        prof.enable()
        for _ in range(count):
            if kind == "inclusion":
                ledger.inclusion_proof(rng.randrange(size))
            else:
                ledger.consistency_proof(rng.randrange(1, size + 1))
        prof.disable()
        out[f"{kind}_top_tottime"] = profile_top(prof, 12)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--backend", choices=("sqlite", "postgres"), default="sqlite")
    ap.add_argument(
        "--n", default=None, help="comma-separated sizes (default 100000,1000000,10000000; postgres 100000,1000000)"
    )
    ap.add_argument("--repeat", type=int, default=5, help="cold runs per size and proof kind")
    ap.add_argument("--warm", type=int, default=2000, help="warm proofs per kind and size")
    ap.add_argument("--pymerkle-n", type=int, default=1_000_000, help="0 to skip the anchor")
    ap.add_argument("--seed", type=int, default=20261128)
    ap.add_argument("--profile", action="store_true", help="cProfile 500 warm proofs of each kind at the largest size")
    args = ap.parse_args()
    (OUT / "tmp").mkdir(parents=True, exist_ok=True)
    default = "100000,1000000,10000000" if args.backend == "sqlite" else "100000,1000000"
    sizes = [int(x) for x in (args.n or default).split(",")]
    rng = random.Random(args.seed)
    res = header("audit.proofs", args)
    res["backend"] = args.backend
    if args.backend == "postgres":
        res["postgres"] = pg_settings()
    from finpilot.audit import open_ledger

    per_size: dict[str, Any] = {}
    cleanup: list[tuple[Path, str | None]] = []
    try:
        for n in sizes:
            if args.backend == "sqlite":
                data_dir, built = sqlite_ledger_dir(n)
                schema = None
            else:
                data_dir = Path(tempfile.mkdtemp(prefix=f"fp-bench-proofs-{n}-", dir=OUT / "tmp"))
                schema = new_schema(f"p{size_label(n)}")
                cleanup.append((data_dir, schema))
                log(f"building PostgreSQL ledger of {n:,} entries in schema {schema}")
                with open_ledger(settings_for("postgres", data_dir, schema)) as ledger:
                    built = build(ledger, n)
                log(f"  built: {built}")
            with open_ledger(settings_for(args.backend, data_dir, schema)) as ledger:
                assert ledger.size == n, (ledger.size, n)
                w = warm(ledger, n, args.warm, rng)
                if args.profile and n == sizes[-1]:
                    res["profile_warm"] = profile_warm(ledger, n, 500, rng)
            log(
                f"{n:,} warm: inclusion median {w['inclusion_random_ms']['median']} ms, "
                f"consistency median {w['consistency_random_ms']['median']} ms"
            )
            c = cold(args.backend, data_dir, schema, n, args.repeat, rng)
            log(
                f"{n:,} cold: inclusion work median {c['inclusion']['work_s']['median']} ms "
                f"(python -c wall {c['inclusion']['python_c_wall_s']['median']} ms)"
            )
            per_size[str(n)] = {"build": built, "warm": w, "cold": c}
        if args.pymerkle_n:
            res["anchor_pymerkle"] = pymerkle_anchor(args.pymerkle_n, args.repeat, rng)
            log(
                f"pymerkle cold inclusion at {args.pymerkle_n:,}: "
                f"{res['anchor_pymerkle']['cold_inclusion_ms']['proof_s']['median']} ms"
            )
    finally:
        for d, schema in cleanup:
            shutil.rmtree(d, ignore_errors=True)
            if schema:
                drop_schema(schema)
    res["sizes"] = per_size
    base = str(sizes[0])

    def ratio(path: tuple[str, ...], n: str) -> float:
        a, b = per_size[n], per_size[base]
        for k in path:
            a, b = a[k], b[k]
        return round(float(a["median"]) / float(b["median"]), 2)

    res["growth_vs_smallest"] = {
        n: {
            "n_ratio": int(n) // int(base),
            "log2n_ratio": round(math.log2(int(n)) / math.log2(int(base)), 2),
            "warm_inclusion_ratio": ratio(("warm", "inclusion_random_ms"), n),
            "warm_consistency_ratio": ratio(("warm", "consistency_random_ms"), n),
            "cold_inclusion_work_ratio": ratio(("cold", "inclusion", "work_s"), n),
        }
        for n in per_size
    }
    largest = str(sizes[-1])
    top = per_size[largest]
    res["targets"] = {
        "size": int(largest),
        "warm_inclusion_median_ms": target(top["warm"]["inclusion_random_ms"]["median"], 1, "<", "ms"),
        "warm_consistency_median_ms": target(top["warm"]["consistency_random_ms"]["median"], 1, "<", "ms"),
        "cold_inclusion_work_median_ms": target(top["cold"]["inclusion"]["work_s"]["median"], 5, "<", "ms"),
        "cold_consistency_work_median_ms": target(top["cold"]["consistency"]["work_s"]["median"], 5, "<", "ms"),
        "cold_inclusion_work_incl_backend_import_median_ms": target(
            top["cold"]["inclusion"]["work_incl_backend_import_s"]["median"], 5, "<", "ms"
        ),
        "cold_note": "work = open_ledger + first proof in a fresh process, imports excluded (finpilot.audit and the "
        "backend module open_ledger imports lazily are timed apart); OS page cache not dropped",
        "grows_with_log_n": {
            "pass": all(g["warm_inclusion_ratio"] < 0.1 * g["n_ratio"] + 1 for g in res["growth_vs_smallest"].values()),
            "rule": "warm inclusion ratio vs smallest size stays far below the n ratio (< n_ratio/10 + 1)",
        },
    }
    if args.pymerkle_n and str(args.pymerkle_n) in per_size:
        mine = per_size[str(args.pymerkle_n)]["cold"]["inclusion"]
        pym = res["anchor_pymerkle"]["cold_inclusion_ms"]
        res["anchor_ratios"] = {
            "size": args.pymerkle_n,
            "pymerkle_cold_proof_over_finpilot_cold_proof": round(
                pym["proof_s"]["median"] / mine["proof_s"]["median"], 1
            ),
            "pymerkle_cold_work_over_finpilot_cold_work": round(pym["work_s"]["median"] / mine["work_s"]["median"], 1),
            "published_pymerkle_cold_inclusion_1m_ms": 900,
        }
    emit(res)


if __name__ == "__main__":
    main()
