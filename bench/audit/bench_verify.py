"""Full-verify benchmark for the audit ledger (target 5), with a pymerkle 7 anchor in the same run.

``ledger.verify()`` recomputes every leaf hash from the stored entries, rebuilds every tile and
compares it with the stored one, checks every checkpoint's signature and root, and checks personal
data commitments. Target: 1M entries in < 5 s. Each repeat opens the ledger afresh (same process,
OS page cache warm). The anchor recomputes the root of a pymerkle SqliteTree over the same 1M
leaf bytes (``get_state()`` on a fresh tree object, i.e. from its stored leaf hashes).

SQLite reuses bench/out/ledger-<n>; PostgreSQL builds into a fresh schema that is dropped after.
Prints ONE JSON object on stdout; progress on stderr. Example:
    .venv/bin/python -m bench.audit.bench_verify --backend sqlite --n 1000000 --repeat 3
"""

from __future__ import annotations

import argparse
import cProfile
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from bench.audit._common import (
    OUT,
    build,
    drop_schema,
    emit,
    header,
    log,
    median,
    new_schema,
    pg_settings,
    profile_top,
    settings_for,
    size_label,
    sqlite_ledger_dir,
    target,
)


def pymerkle_root(n: int, repeat: int) -> dict[str, Any] | None:
    import pymerkle

    path = OUT / f"pymerkle-{size_label(n)}.db"
    if not (OUT / f"pymerkle-{size_label(n)}.BUILT").exists():
        log(f"no {path}: run bench_proofs first (it builds the pymerkle anchor); skipping")
        return None
    runs = []
    for _ in range(repeat):
        t = time.perf_counter()
        tree = pymerkle.SqliteTree(str(path))
        tree.get_state()
        runs.append(round(time.perf_counter() - t, 3))
        tree.close()
    return {
        "what": "pymerkle SqliteTree(path).get_state() over stored leaf hashes (no leaf re-hash, no tiles, "
        "no signatures)",
        "median_s": median(runs),
        "runs_s": runs,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--backend", choices=("sqlite", "postgres"), default="sqlite")
    ap.add_argument("--n", type=int, default=1_000_000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--no-pymerkle", action="store_true")
    ap.add_argument("--profile", action="store_true", help="one more verify under cProfile (wall clock)")
    args = ap.parse_args()
    (OUT / "tmp").mkdir(parents=True, exist_ok=True)
    res = header("audit.verify", args)
    res["backend"] = args.backend
    if args.backend == "postgres":
        res["postgres"] = pg_settings()
    from finpilot.audit import open_ledger

    schema = None
    tmp: Path | None = None
    try:
        if args.backend == "sqlite":
            data_dir, built = sqlite_ledger_dir(args.n)
        else:
            tmp = data_dir = Path(tempfile.mkdtemp(prefix="fp-bench-verify-", dir=OUT / "tmp"))
            schema = new_schema("verify")
            log(f"building PostgreSQL ledger of {args.n:,} entries in schema {schema}")
            with open_ledger(settings_for("postgres", data_dir, schema)) as ledger:
                built = build(ledger, args.n)
            log(f"  built: {built}")
        runs = []
        for r in range(args.repeat):
            with open_ledger(settings_for(args.backend, data_dir, schema)) as ledger:
                t = time.perf_counter()
                report = ledger.verify()
                elapsed = time.perf_counter() - t
            if not report.ok or report.entries != args.n:
                raise SystemExit(f"verify failed: {report.to_json()}")
            runs.append(
                {
                    "seconds": round(elapsed, 3),
                    "entries_per_s": round(args.n / elapsed),
                    "checkpoints": report.checkpoints,
                }
            )
            log(f"verify run {r + 1}: {runs[-1]}")
        if args.profile:
            prof = cProfile.Profile()
            with open_ledger(settings_for(args.backend, data_dir, schema)) as ledger:
                prof.enable()
                ledger.verify()
                prof.disable()
            res["profile_verify"] = profile_top(prof, 15)
    finally:
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)
        if schema:
            drop_schema(schema)
    med = median([r["seconds"] for r in runs])
    res["build"] = built
    res["target5_verify"] = {
        "entries": args.n,
        "median_s": med,
        "median_entries_per_s": round(args.n / med),
        "runs": runs,
        "target": target(med, 5, "<", "s")
        if args.n == 1_000_000
        else target(med * 1_000_000 / args.n, 5, "<", "s (scaled to 1M)"),
    }
    if not args.no_pymerkle:
        anchor = pymerkle_root(1_000_000, args.repeat)
        if anchor:
            res["anchor_pymerkle_root_1m"] = anchor
            if args.n == 1_000_000:
                res["anchor_ratio_finpilot_verify_over_pymerkle_root"] = round(med / anchor["median_s"], 2)
    emit(res)


if __name__ == "__main__":
    main()
