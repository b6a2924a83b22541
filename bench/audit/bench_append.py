"""Append benchmarks for the audit ledger (targets 1-3) with the pymerkle 7 anchor in the same run.

  1. batched durable appends end to end (canonical JSON, hashing, durable store + tree state),
     ``append_many`` in chunks of 20k from one caller; the same leaf bytes through
     ``pymerkle.SqliteTree.append_entries`` (one transaction) and ``append_entry`` (a commit each).
  2. 64 writer threads each calling ``ledger.append(entry)`` and waiting for durability (group commit),
     with os.fsync latency of a small write on the same filesystem beside it.
  3. appended -> covered by a signed checkpoint, under the load of (2): for sampled acks (time t, index i),
     the first moment a poller thread sees ``latest_checkpoint().size > i``.

Prints ONE JSON object on stdout; progress on stderr. Example:
    .venv/bin/python -m bench.audit.bench_append --backend sqlite --repeat 3
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import shutil
import sys
import tempfile
import threading
import time
from datetime import datetime
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from bench.audit._common import (
    OUT,
    emit,
    entry_iter,
    fresh_ledger,
    fsync_latency,
    header,
    loadavg,
    log,
    make_entries,
    make_small_entries,
    median,
    pct,
    pg_data_dir,
    pg_settings,
    profile_top,
    summary,
    target,
)

NOW = "2026-11-28T00:00:00.000000Z"


def _chunks(n: int, shape: str, chunk: int) -> list[list[Any]]:
    if shape == "typical":
        return list(entry_iter(n, chunk))
    return [make_small_entries(min(chunk, n - s), s) for s in range(0, n, chunk)]


def _instrument(ledger: Any) -> dict[str, Any]:
    """Wrap the ledger's own _prepare/_write (instance attributes; finpilot is not edited)."""
    acc: dict[str, Any] = {"prepare_s": 0.0, "write_s": 0.0, "write_cpu_s": 0.0, "batches": [], "cp_s": []}
    prep, write, cp = ledger._prepare, ledger._write, ledger._checkpoint

    def _prepare(entries: Any, **kw: Any) -> Any:
        t = time.perf_counter()
        try:
            return prep(entries, **kw)
        finally:
            acc["prepare_s"] += time.perf_counter() - t

    def _write(batch: Any) -> None:
        t, c = time.perf_counter(), time.thread_time()
        try:
            write(batch)
        finally:
            acc["write_s"] += time.perf_counter() - t
            acc["write_cpu_s"] += time.thread_time() - c
            acc["batches"].append(len(batch.datas))

    def _checkpoint() -> Any:
        t = time.perf_counter()
        try:
            return cp()
        finally:
            acc["cp_s"].append(time.perf_counter() - t)

    ledger._prepare, ledger._write, ledger._checkpoint = _prepare, _write, _checkpoint
    return acc


# ---------------------------------------------------------------------- target 1
def batched_run(backend: str, n: int, shape: str, chunk: int) -> dict[str, Any]:
    chunks = _chunks(n, shape, chunk)
    with fresh_ledger(backend, "batch") as ledger:
        acc = _instrument(ledger)
        t = time.perf_counter()
        for c in chunks:
            ledger.append_many(c)
        elapsed = time.perf_counter() - t
        assert ledger.size == n, ledger.size
    return {
        "entries_per_s": round(n / elapsed),
        "seconds": round(elapsed, 3),
        "prepare_us_per_entry": round(acc["prepare_s"] / n * 1e6, 2),
        "writer_us_per_entry": round(acc["write_s"] / n * 1e6, 2),
        "checkpoints_signed": len(acc["cp_s"]),
        "loadavg_after": loadavg(),
    }


def leaf_bytes(n: int, shape: str) -> list[bytes]:
    from finpilot.audit._entry import prepare

    entries = make_entries(n) if shape == "typical" else make_small_entries(n)
    return [prepare(e, NOW, 65536).data for e in entries]


def pymerkle_batched(data: list[bytes]) -> float:
    import pymerkle

    d = Path(tempfile.mkdtemp(prefix="fp-bench-pym-", dir=OUT / "tmp"))
    try:
        tree = pymerkle.SqliteTree(str(d / "merkle.db"))
        t = time.perf_counter()
        tree.append_entries(data)  # one transaction (its own `with self.con:`)
        elapsed = time.perf_counter() - t
        assert tree.get_size() == len(data)
        tree.close()
    finally:
        shutil.rmtree(d, ignore_errors=True)
    return len(data) / elapsed


def pymerkle_per_commit(data: list[bytes]) -> float:
    import pymerkle

    d = Path(tempfile.mkdtemp(prefix="fp-bench-pym1-", dir=OUT / "tmp"))
    try:
        tree = pymerkle.SqliteTree(str(d / "merkle.db"))
        t = time.perf_counter()
        for blob in data:
            tree.append_entry(blob)  # one commit per entry
        elapsed = time.perf_counter() - t
        tree.close()
    finally:
        shutil.rmtree(d, ignore_errors=True)
    return len(data) / elapsed


def finpilot_per_commit(backend: str, count: int) -> float:
    """One caller, one entry per append: every append is its own durable commit (the anchor's 1.4k/s case)."""
    entries = make_entries(count)
    with fresh_ledger(backend, "single") as ledger:
        t = time.perf_counter()
        for e in entries:
            ledger.append(e)
        return count / (time.perf_counter() - t)


def profile_batched(backend: str, n: int, shape: str, chunk: int, top: int = 15) -> dict[str, Any]:
    """cProfile (thread CPU time) of the caller around the public ``append_many`` calls, and of the
    writer thread from its start to ``close()``; one run, slower than the timed runs.

    The writer thread is started lazily by the first append, so ``threading.setprofile`` installs a
    hook that switches on the writer's profiler at its first event. No private method is wrapped.
    """
    chunks = _chunks(n, shape, chunk)
    caller, writer = cProfile.Profile(time.thread_time), cProfile.Profile(time.thread_time)

    def _start_writer_profile(*_: Any) -> None:
        writer.enable()  # replaces this hook with cProfile's own for the new thread

    with fresh_ledger(backend, "prof") as ledger:
        threading.setprofile(_start_writer_profile)
        try:
            caller.enable()
            for c in chunks:
                ledger.append_many(c)
            caller.disable()
        finally:
            threading.setprofile(None)
    # fresh_ledger closed the ledger: the writer thread has signed its last checkpoint and exited

    def total(prof: cProfile.Profile) -> float:
        return round(float(pstats.Stats(prof).total_tt), 3)  # type: ignore[attr-defined]

    return {
        "entries": n,
        "shape": shape,
        "timer": "time.thread_time (CPU of the profiled thread; waits are excluded)",
        "caller_thread_cpu_s": total(caller),
        "writer_thread_cpu_s": total(writer),
        "caller_thread_top_tottime": profile_top(caller, top),
        "writer_thread_top_tottime": profile_top(writer, top),
    }


# ---------------------------------------------------------------------- targets 2 + 3
def concurrent_run(backend: str, threads: int, seconds: float, sample_every: int, shape: str) -> dict[str, Any]:
    per_thread = 2000
    entries = (make_entries if shape == "typical" else make_small_entries)(threads * per_thread)
    with fresh_ledger(backend, "conc") as ledger:
        acc = _instrument(ledger)
        start_evt = threading.Event()
        counts = [0] * threads
        samples: list[list[tuple[float, float, float, int]]] = [[] for _ in range(threads)]
        errors: list[BaseException] = []
        deadline = [0.0]

        def writer(k: int) -> None:
            mine = entries[k * per_thread : (k + 1) * per_thread]
            c = 0
            out = samples[k]
            start_evt.wait()
            stop = deadline[0]
            mono, wall = time.monotonic, time.time
            try:
                while True:
                    t_call = mono()
                    if t_call >= stop:
                        break
                    index = ledger.append(mine[c % per_thread])
                    c += 1
                    if c % sample_every == 0:
                        out.append((t_call, mono(), wall(), index))
            except BaseException as exc:
                errors.append(exc)
            counts[k] = c

        seen: list[tuple[float, int]] = []
        poll_stop = threading.Event()

        def poller() -> None:
            last = -1
            while not poll_stop.is_set():
                cp = ledger.latest_checkpoint()
                if cp is not None and cp.size != last:
                    last = cp.size
                    seen.append((time.monotonic(), cp.size))
                time.sleep(0.001)

        ts = [threading.Thread(target=writer, args=(k,), daemon=True) for k in range(threads)]
        for t in ts:
            t.start()
        p = threading.Thread(target=poller, daemon=True)
        p.start()
        cpu0 = os.times()
        t0 = time.perf_counter()
        deadline[0] = time.monotonic() + seconds
        start_evt.set()
        for t in ts:
            t.join()
        elapsed = time.perf_counter() - t0
        cpu1 = os.times()
        total = sum(counts)
        # let the poller see the checkpoint covering the last acks (the writer signs one within the interval)
        wait_until = time.monotonic() + 3.0
        while time.monotonic() < wait_until and (not seen or seen[-1][1] < ledger.size):
            time.sleep(0.01)
        poll_stop.set()
        p.join()
        cps = ledger.checkpoints()
        if errors:
            raise errors[0]

    acks = sorted((s for per in samples for s in per), key=lambda s: s[3])
    # visible latency: first poll observation with size > i
    vis_ack, vis_call, signed_ack = [], [], []
    sizes = [s for _, s in seen]
    import bisect

    cp_sizes = [c.size for c in cps]
    cp_epoch = [datetime.fromisoformat(c.created_at.replace("Z", "+00:00")).timestamp() for c in cps]
    for t_call, t_ack, w_ack, i in acks:
        # poll observations are in time order and sizes only grow: first with size > i
        j = bisect.bisect_right(sizes, i)
        if j < len(seen):
            vis_ack.append((seen[j][0] - t_ack) * 1000)
            vis_call.append((seen[j][0] - t_call) * 1000)
        k = bisect.bisect_right(cp_sizes, i)
        if k < len(cps):
            signed_ack.append((cp_epoch[k] - w_ack) * 1000)
    batches = acc["batches"]
    return {
        "entries_per_s": round(total / elapsed),
        "entries": total,
        "seconds": round(elapsed, 3),
        "threads": threads,
        "batches": len(batches),
        "mean_batch": round(total / max(1, len(batches)), 1),
        "writer_busy_fraction": round(acc["write_s"] / elapsed, 3),
        "writer_cpu_s": round(acc["write_cpu_s"], 3),
        "process_cpu_cores": round((cpu1.user - cpu0.user + cpu1.system - cpu0.system) / elapsed, 2),
        "process_sys_s": round(cpu1.system - cpu0.system, 2),
        "checkpoint_ms": summary([x * 1000 for x in acc["cp_s"]], 3) if acc["cp_s"] else None,
        "checkpoints": len(cps),
        "ack_to_visible_checkpoint_ms": summary(vis_ack, 2) if vis_ack else None,
        "call_to_visible_checkpoint_ms": summary(vis_call, 2) if vis_call else None,
        "ack_to_signed_created_at_ms": summary(signed_ack, 2) if signed_ack else None,
        "loadavg_after": loadavg(),
        "_samples": vis_ack,
        "_samples_call": vis_call,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--backend", choices=("sqlite", "postgres"), default="sqlite")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--n", type=int, default=200_000, help="entries per batched run")
    ap.add_argument("--chunk", type=int, default=20_000, help="append_many chunk (= max_batch)")
    ap.add_argument("--shapes", default="typical,small", help="entry shapes for target 1: typical,small")
    ap.add_argument("--conc-shapes", default="typical,small", help="entry shapes for targets 2 and 3")
    ap.add_argument("--threads", type=int, default=64)
    ap.add_argument("--seconds", type=float, default=5.0, help="duration of each concurrent run")
    ap.add_argument("--sample-every", type=int, default=8, help="sample every k-th ack per thread for target 3")
    ap.add_argument("--single", type=int, default=2000, help="entries for the one-commit-per-entry figures")
    ap.add_argument("--no-pymerkle", action="store_true")
    ap.add_argument("--profile", action="store_true", help="add cProfile top functions of the batched path")
    args = ap.parse_args()
    (OUT / "tmp").mkdir(parents=True, exist_ok=True)
    res = header("audit.append", args)
    res["backend"] = args.backend
    if args.backend == "postgres":
        res["postgres"] = pg_settings()
        res["postgres"]["data_directory"] = pg_data_dir()
    res["entry_bytes_mean"] = {s: round(sum(map(len, leaf_bytes(2000, s))) / 2000, 1) for s in args.shapes.split(",")}

    # fsync beside everything (same filesystem as the ledger files; PostgreSQL's data dir is on / too)
    res["fsync"] = fsync_latency(OUT / "tmp")
    log(f"fsync: {res['fsync']['fsync_ms']}")

    # ---------------- target 1
    t1: dict[str, Any] = {}
    for shape in args.shapes.split(","):
        runs, pym = [], []
        data = leaf_bytes(args.n, shape) if not args.no_pymerkle else []
        for r in range(args.repeat):
            runs.append(batched_run(args.backend, args.n, shape, args.chunk))
            log(f"batched {shape} run {r + 1}: {runs[-1]}")
            if data:
                pym.append(round(pymerkle_batched(data)))
                log(f"  pymerkle append_entries same bytes: {pym[-1]:,}/s")
        med = median([r["entries_per_s"] for r in runs])
        block: dict[str, Any] = {
            "median_entries_per_s": med,
            "median_prepare_us_per_entry": median([r["prepare_us_per_entry"] for r in runs]),
            "median_writer_us_per_entry": median([r["writer_us_per_entry"] for r in runs]),
            "runs": runs,
            "target": target(med, 150_000, ">=", "entries/s"),
        }
        if pym:
            block["pymerkle_sqlite_append_entries"] = {"median_entries_per_s": median(pym), "runs": pym}
            block["ratio_finpilot_over_pymerkle"] = round(med / median(pym), 3)
        t1[shape] = block
    if not args.no_pymerkle:
        data = leaf_bytes(args.single, "typical")
        pym1 = [round(pymerkle_per_commit(data)) for _ in range(args.repeat)]
        fp1 = [round(finpilot_per_commit(args.backend, args.single)) for _ in range(args.repeat)]
        t1["one_commit_per_entry"] = {
            "pymerkle_append_entry_median_per_s": median(pym1),
            "pymerkle_runs": pym1,
            "finpilot_append_single_caller_median_per_s": median(fp1),
            "finpilot_runs": fp1,
            "ratio_finpilot_over_pymerkle": round(median(fp1) / median(pym1), 3),
        }
        log(f"one commit per entry: {t1['one_commit_per_entry']}")
    res["target1_batched"] = t1
    if args.profile:
        res["profile_batched"] = profile_batched(args.backend, min(args.n, 100_000), "typical", args.chunk)

    # ---------------- targets 2 + 3 (per entry shape: prepare runs in the 64 caller threads, under the GIL)
    res["target2_concurrent"], res["target3_checkpoint_latency"] = {}, {}
    for shape in args.conc_shapes.split(","):
        conc = []
        for r in range(args.repeat):
            run = concurrent_run(args.backend, args.threads, args.seconds, args.sample_every, shape)
            conc.append(run)
            log(
                f"concurrent {shape} run {r + 1}: {run['entries_per_s']:,}/s, mean batch {run['mean_batch']}, "
                f"ack->checkpoint p50 {run['ack_to_visible_checkpoint_ms']['median']} ms "
                f"p99 {run['ack_to_visible_checkpoint_ms']['p99']} ms"
            )
        pooled = [x for r in conc for x in r.pop("_samples")]
        pooled_call = [x for r in conc for x in r.pop("_samples_call")]
        med2 = median([r["entries_per_s"] for r in conc])
        res["target2_concurrent"][shape] = {
            "median_entries_per_s": med2,
            "threads": args.threads,
            "runs": conc,
            "fsync_ms_same_fs": res["fsync"]["fsync_ms"],
            "target": target(med2, 20_000, ">=", "entries/s"),
            "anchor_ratio_vs_immudb_single_entry_1881_tx_s": round(med2 / 1881, 2),
            "anchor_ratio_vs_tessera_2900_per_s_12_cores": round(med2 / 2900, 2),
        }
        p99_runs = [r["ack_to_visible_checkpoint_ms"]["p99"] for r in conc]
        res["target3_checkpoint_latency"][shape] = {
            "ack_to_visible_checkpoint_ms_pooled": summary(pooled, 2),
            "call_to_visible_checkpoint_ms_pooled": summary(pooled_call, 2),
            "median_of_run_p99_ms": median(p99_runs),
            "run_p99_ms": p99_runs,
            "checkpoint_interval_s": 0.05,
            "method": "64 writers; every k-th ack per thread sampled as (monotonic ack time, index); a poller "
            "thread reads latest_checkpoint() every ~1 ms; latency = first poll seeing size > index "
            "minus ack time",
            "target": target(pct(pooled, 99), 100, "<=", "ms p99"),
            "anchor_ratio_vs_tessera_integrate_0.6s": round(600 / pct(pooled, 99), 1),
        }
    emit(res)


if __name__ == "__main__":
    main()
