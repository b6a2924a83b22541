"""CPU per entry of the ledger's append path before the store: ``Ledger._prepare`` (checks, canonical
JSON, PAN scan, leaf hash) over the typical entries of ``bench_append``, no disk involved.

This is the part of a batched append that a change to entry checks can move, measured in
process CPU time so that other jobs on the 2 shared cores blur it less than wall time.
Prints ONE JSON object. Compare two trees with ``bench.ab``::

    .venv/bin/python -m bench.ab --baseline REV --rounds 7 --metric cpu_us_per_entry -- bench.audit.bench_prepare
"""

from __future__ import annotations

import argparse
import statistics
import time

from bench.audit._common import emit, fresh_ledger, header, make_entries


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=50_000)
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    res = header("audit.prepare", args)
    entries = make_entries(args.n)
    runs = []
    with fresh_ledger("sqlite", "prepare") as ledger:
        ledger._prepare(entries[:1000])  # warm the caches and the imports
        for _ in range(args.repeat):
            c = time.process_time()
            ledger._prepare(entries)
            runs.append(round((time.process_time() - c) / args.n * 1e6, 3))
    res["cpu_us_per_entry"] = statistics.median(runs)
    res["runs"] = runs
    emit(res)


if __name__ == "__main__":
    main()
