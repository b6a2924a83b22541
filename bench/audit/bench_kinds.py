"""What declared entry kinds cost: building an entry through its kind, and appending typed entries.

1. ``FRAUD_DECISION.entry(...)`` per call (vocabulary and evidence model checked, in the writer's
   thread), beside building the same ``Entry`` by hand without any check: the difference is what
   a typed writer pays per entry.
2. Batched ``append_many`` of typed ``fraud.decision`` entries (already checked: the ledger only
   looks the kind up) beside the same leaves under a ``custom.*`` kind (structure only), same run.

Both are CPU-bound and single-threaded; process CPU time is reported beside wall time, because
the shared 2-core machine is noisy. Prints ONE JSON object on stdout. Example::

    .venv/bin/python -m bench.audit.bench_kinds --repeat 5
"""

from __future__ import annotations

import argparse
import statistics
import time
from typing import Any

from bench.audit._common import emit, fresh_ledger, header, log


def _evidence(i: int) -> dict[str, Any]:
    return {
        "score": 0.12,
        "model_score": 0.118,
        "reasons": ["amount_high", "new_terminal"],
        "model_version": "m-2026-12",
        "policy_id": "default-v1",
        "customer_id": f"c{i % 5000}",
        "terminal_id": f"t{i % 9000}",
        "amount": 42.5 + i % 7,
        "time": 1_765_000_000 + i,
        "caller": {"token_id": "tok1", "client": "127.0.0.1", "request": "POST /api/v1/fraud/scores"},
    }


def _fields(i: int) -> dict[str, Any]:
    return {"actor": "finpilot:fraud", "action": "approve", "subject": f"payment:tx{i}", "outcome": "approve"}


def build_cost(n: int) -> dict[str, float]:
    from finpilot.audit import Entry
    from finpilot.audit.kinds import FRAUD_DECISION

    evidence = [_evidence(i) for i in range(n)]
    c0 = time.process_time()
    for i in range(n):
        Entry(kind="custom.decision", evidence=evidence[i], **_fields(i))
    t1, c1 = time.perf_counter(), time.process_time()
    for i in range(n):
        FRAUD_DECISION.entry(evidence=evidence[i], **_fields(i))
    t2, c2 = time.perf_counter(), time.process_time()
    return {
        "by_hand_us": round((c1 - c0) / n * 1e6, 3),
        "through_kind_us": round((c2 - c1) / n * 1e6, 3),
        "check_us": round(((c2 - c1) - (c1 - c0)) / n * 1e6, 3),
        "wall_through_kind_us": round((t2 - t1) / n * 1e6, 3),
    }


def append_rate(n: int, chunk: int, typed: bool) -> dict[str, float]:
    from finpilot.audit import Entry
    from finpilot.audit.kinds import FRAUD_DECISION

    if typed:
        entries = [FRAUD_DECISION.entry(evidence=_evidence(i), **_fields(i)) for i in range(n)]
    else:
        entries = [Entry(kind="custom.decision", evidence=_evidence(i), **_fields(i)) for i in range(n)]
    with fresh_ledger("sqlite", "kinds") as ledger:
        t, c = time.perf_counter(), time.process_time()
        for start in range(0, n, chunk):
            ledger.append_many(entries[start : start + chunk])
        wall, cpu = time.perf_counter() - t, time.process_time() - c
    return {"entries_per_s": round(n / wall), "cpu_us_per_entry": round(cpu / n * 1e6, 2)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--n", type=int, default=50_000, help="entries per append run and per build run")
    ap.add_argument("--chunk", type=int, default=20_000)
    args = ap.parse_args()
    res = header("audit.kinds", args)
    builds, typed, custom = [], [], []
    for r in range(args.repeat):
        builds.append(build_cost(args.n))
        # Alternate the order so neither variant always meets the warmer cache.
        pair = [("custom", False), ("typed", True)] if r % 2 == 0 else [("typed", True), ("custom", False)]
        for name, flag in pair:
            (typed if flag else custom).append(append_rate(args.n, args.chunk, flag))
            log(f"round {r + 1} {name}: {(typed if flag else custom)[-1]}")
        log(f"round {r + 1} build: {builds[-1]}")

    def med(runs: list[dict[str, float]], key: str) -> float:
        return statistics.median(run[key] for run in runs)

    res["build_fraud_decision"] = {k: med(builds, k) for k in builds[0]} | {"runs": builds}
    res["append_typed_fraud_decision"] = {k: med(typed, k) for k in typed[0]} | {"runs": typed}
    res["append_custom_same_leaves"] = {k: med(custom, k) for k in custom[0]} | {"runs": custom}
    res["ratio_typed_over_custom_entries_per_s"] = round(med(typed, "entries_per_s") / med(custom, "entries_per_s"), 4)
    emit(res)


if __name__ == "__main__":
    main()
