"""The canary judge on simulated releases, against a static-threshold judge in the style of Argo Rollouts/Flagger.

Each release (see :mod:`bench.deliver.judge_releases`) streams both arms in time order at 50
requests/s each; every ``--interval`` seconds a rollout would analyse, and here both judges do:

* **finpilot's judge**: :func:`finpilot.deliver.judge` over the window so far (both arms from
  t=0), then :func:`finpilot.deliver.next_step`: ``rollback`` ends the release (detection time =
  the analysis time), ``pause`` for not enough data waits, ``continue`` goes on; at the end of the
  window an inconclusive verdict extends it by one interval up to ``max_extensions`` times, and
  is then counted as *paused* (a person decides).
* **the static anchor**, twice: each interval's canary requests only, as an Argo
  ``AnalysisTemplate`` or a Flagger ``metricTemplate`` would query them. ``static``: error rate
  < 1 % (Flagger's usual request-success-rate >= 99 %), p99 and decline rate below the 99th
  percentile of their per-interval values over 10 calibration baselines (good releases with
  their own seeds: the "normal worst" a user reads off the dashboards). ``static_tuned``: the
  error-rate limit also at its normal worst (above the upstream bursts). A check fails when any
  limit is broken, and the canary is rolled back at the third failed check (``failureLimit: 2``).

A false rollback is a good release rolled back; a miss is a bad release not rolled back by the
end of the window (and its extensions). Prints ONE JSON object on stdout, progress on stderr::

    .venv/bin/python -m bench.deliver.bench_judge > bench/out/deliver-judge.json
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from bench.audit._common import emit, header, log, pct
from bench.deliver.judge_releases import KINDS, release
from finpilot.deliver import JudgeConfig, Samples, judge, next_step

FAILURE_LIMIT = 2


def run_judge(
    baseline: Samples, canary: Samples, config: JudgeConfig, interval: float, window: float
) -> dict[str, Any]:
    """Stream one release through finpilot's judge; the outcome and, on rollback, the detection time."""
    t = interval
    extensions = 0
    calls = 0
    spent = 0.0
    while True:
        started = time.perf_counter()
        verdict = judge(baseline.window(0, t), canary.window(0, t), config)
        spent += time.perf_counter() - started
        calls += 1
        step = next_step(verdict, config, extensions if t >= window else 0)
        if step == "rollback":
            return {"outcome": "rollback", "at": t, "calls": calls, "spent": spent, "reason": verdict.reason}
        if t >= window:
            if step == "continue":
                return {"outcome": "promote", "at": t, "calls": calls, "spent": spent}
            if step == "extend":
                extensions += 1
                t += interval
                continue
            return {"outcome": "paused", "at": t, "calls": calls, "spent": spent, "reason": verdict.reason}
        t += interval


def interval_values(arm: Samples, start: float, end: float) -> tuple[float, float, float, int]:
    """Error rate, p99 and decline rate of one arm's requests in ``[start, end)``."""
    part = arm.window(start, end)
    if len(part) == 0:
        return 0.0, 0.0, 0.0, 0
    return (
        float(part.error.mean()),
        float(np.quantile(part.latency_ms, 0.99)),
        float(part.extra["declined"].mean()),
        len(part),
    )


def calibrate(seeds: range, interval: float, window: float) -> dict[str, dict[str, float]]:
    """Static thresholds as a user would set them from the dashboards of normal (good) releases.

    ``usual``: error rate < 1 % (Flagger's request-success-rate >= 99 %), p99 and decline rate below
    the 99th percentile of their per-interval values. ``tuned``: the error rate too below its
    99th percentile, i.e. above the upstream bursts that normal days show.
    """
    errors, p99s, declines = [], [], []
    for seed in seeds:
        baseline, _ = release(seed, "good", window)
        for k in range(int(window / interval)):
            error, p99, decline, _n = interval_values(baseline, k * interval, (k + 1) * interval)
            errors.append(error)
            p99s.append(p99)
            declines.append(decline)
    usual = {
        "max_error_rate": 0.01,
        "max_p99_ms": round(pct(p99s, 99), 1),
        "max_decline_rate": round(pct(declines, 99), 4),
    }
    return {"usual": usual, "tuned": {**usual, "max_error_rate": round(pct(errors, 99), 4)}}


def run_static(canary: Samples, limits: dict[str, float], interval: float, window: float) -> dict[str, Any]:
    """Stream one release through the static anchor; ``broken`` counts the limits its failed checks broke."""
    failed = 0
    broken = {"error_rate": 0, "p99": 0, "decline_rate": 0}
    t = interval
    while t <= window + 1e-9:
        error, p99, decline, n = interval_values(canary, t - interval, t)
        checks = {
            "error_rate": error > limits["max_error_rate"],
            "p99": p99 > limits["max_p99_ms"],
            "decline_rate": decline > limits["max_decline_rate"],
        }
        if n and any(checks.values()):
            failed += 1
            for name, hit in checks.items():
                broken[name] += hit
            if failed > FAILURE_LIMIT:
                return {"outcome": "rollback", "at": t, "broken": broken}
        t += interval
    return {"outcome": "promote", "at": window, "broken": broken}


def summarise(kind: str, runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Counts and detection times of one kind of release under one judge."""
    rolled = [r["at"] for r in runs if r["outcome"] == "rollback"]
    n = len(runs)
    out: dict[str, Any] = {
        "releases": n,
        "rollbacks": len(rolled),
        "promoted": sum(r["outcome"] == "promote" for r in runs),
        "paused": sum(r["outcome"] == "paused" for r in runs),
    }
    if "broken" in runs[0]:
        out["failed_checks_by_limit"] = {k: sum(r["broken"][k] for r in runs) for k in runs[0]["broken"]}
    if kind == "good":
        out["false_rollbacks"] = len(rolled)
        out["false_rollback_rate"] = len(rolled) / n
    else:
        out["catch_rate"] = len(rolled) / n
        out["miss_rate"] = 1 - len(rolled) / n
        out["detection_s"] = (
            {"median": statistics.median(rolled), "p95": pct(rolled, 95), "max": max(rolled)} if rolled else None
        )
    return out


def main() -> None:
    """Run the benchmark and print its JSON."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--releases", type=int, default=50, help="releases of each kind")
    parser.add_argument("--window", type=float, default=300.0, help="analysis window (s)")
    parser.add_argument("--interval", type=float, default=10.0, help="seconds between analyses")
    parser.add_argument("--seed-offset", type=int, default=0, help="shift every seed (a fresh set of releases)")
    parser.add_argument("--config", type=Path, default=None, help="a judge config file (default: the defaults)")
    args = parser.parse_args()
    config = JudgeConfig.load(args.config) if args.config else JudgeConfig()
    result = header("deliver.judge", args)
    limits = calibrate(range(100_000, 100_010), args.interval, args.window)
    result["static_thresholds"] = limits
    tuned: dict[str, Any] = {}
    result["judge_config"] = config.model_dump(mode="json")
    horizon = args.window + config.max_extensions * args.interval
    ours: dict[str, Any] = {}
    static: dict[str, Any] = {}
    calls = 0
    spent = 0.0
    reasons: dict[str, list[str]] = {}
    for k, kind in enumerate(KINDS):
        runs, anchor, anchor_tuned = [], [], []
        for i in range(args.releases):
            # Seeds are fixed per (kind, i): the same release every run; good and bad never share one.
            baseline, canary = release(args.seed_offset + 1000 * k + i, kind, horizon)
            outcome = run_judge(baseline, canary, config, args.interval, args.window)
            calls += outcome["calls"]
            spent += outcome["spent"]
            runs.append(outcome)
            if outcome["outcome"] != ("promote" if kind == "good" else "rollback"):
                seed = args.seed_offset + 1000 * k + i
                reasons.setdefault(kind, []).append(f"seed {seed}: {outcome['outcome']}: {outcome.get('reason')}")
            anchor.append(run_static(canary, limits["usual"], args.interval, args.window))
            anchor_tuned.append(run_static(canary, limits["tuned"], args.interval, args.window))
        ours[kind] = summarise(kind, runs)
        static[kind] = summarise(kind, anchor)
        tuned[kind] = summarise(kind, anchor_tuned)
        log(kind, "judge", ours[kind], "static", static[kind])
    bad = [kind for kind in KINDS if kind != "good"]
    result["judge"] = ours
    result["static"] = static
    result["static_tuned"] = tuned
    result["not_as_expected"] = reasons
    result["totals"] = {
        "judge_false_rollbacks": ours["good"]["rollbacks"],
        "judge_min_catch_rate": min(ours[k]["catch_rate"] for k in bad),
        "static_false_rollbacks": static["good"]["rollbacks"],
        "static_min_catch_rate": min(static[k]["catch_rate"] for k in bad),
        "static_tuned_false_rollbacks": tuned["good"]["rollbacks"],
        "static_tuned_catch_rates": {k: tuned[k]["catch_rate"] for k in bad},
        "judge_calls": calls,
        "judge_ms_per_call": round(1000 * spent / calls, 3),
    }
    emit(result)


if __name__ == "__main__":
    main()
