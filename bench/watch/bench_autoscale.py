"""The predictive autoscaler against the HPA algorithm and the oracle, trace by trace.

For every trace: SLO-violation minutes and replica-hours of each policy (``watch autoscale-sim``'s
figures) and the targets checked:

- ``no_more_violations_than_hpa``: predictive violation minutes <= HPA's;
- ``within_1_15_oracle``: predictive replica-hours <= 1.15x the oracle's;
- on bursty traces (``bursty``: HPA violates in at least 0.1 % of the minutes, so one unlucky
  minute does not make a smooth trace bursty): ``halves_hpa_violations`` (>= 50 % fewer minutes)
  and ``no_more_replica_hours_than_hpa``.

One configuration for every trace (the defaults). Traces: the four of acceptance 3, then (with
``--all``) every NAB series that looks like load: request counts, CPU, network and disk traffic,
Twitter volumes and the synthetic daily loads. Left out as not load: prices (realAdExchange),
road speed, occupancy and travel time (realTraffic), temperatures and latencies.

Prints ONE JSON object on stdout. Example (a few minutes; nyc_taxi alone is 1.2 M steps):
    .venv/bin/python -m bench.watch.bench_autoscale --nab ../shared/data/nab/data > bench/out/autoscale.json
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

from finpilot.watch import CapacityModel, TraceError, load_trace, simulate_all

ACCEPTANCE = [
    "realKnownCause/nyc_taxi.csv",
    "realAWSCloudwatch/elb_request_count_8c0756.csv",
    "realAWSCloudwatch/rds_cpu_utilization_cc0c53.csv",
    "realAWSCloudwatch/ec2_cpu_utilization_5f5533.csv",
]
LOAD_LIKE_DIRS = ["realAWSCloudwatch", "realKnownCause", "realTweets", "artificialNoAnomaly", "artificialWithAnomaly"]
NOT_LOAD = ("temperature", "latency", "rogue_agent", "art_noisy", "flatmiddle")


def load_like(nab: Path) -> list[str]:
    """Every NAB series that looks like load, the acceptance ones first."""
    found = [
        f"{d}/{p.name}"
        for d in LOAD_LIKE_DIRS
        for p in sorted((nab / d).glob("*.csv"))
        if not any(word in p.name for word in NOT_LOAD)
    ]
    return ACCEPTANCE + [f for f in found if f not in ACCEPTANCE]


BURSTY_SHARE = 0.001
"""A trace is bursty when HPA violates in at least this share of its minutes (0.1 %)."""


def checks(policies: dict[str, dict[str, Any]], minutes: float) -> dict[str, bool | None]:
    """The benchmark targets for one trace (None where a target does not apply)."""
    p, h = policies["predictive"], policies["hpa"]
    bursty = h["violation_minutes"] >= max(1.0, BURSTY_SHARE * minutes)
    return {
        "no_more_violations_than_hpa": p["violation_minutes"] <= h["violation_minutes"],
        "within_1_15_oracle": p["ratio_to_oracle"] <= 1.15,
        "hpa_violates": h["violation_minutes"] > 0,
        "bursty": bursty,
        "halves_hpa_violations": p["violation_minutes"] <= 0.5 * h["violation_minutes"] if bursty else None,
        "no_more_replica_hours_than_hpa": p["replica_hours"] <= h["replica_hours"] if bursty else None,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nab", type=Path, default=Path("../shared/data/nab/data"), help="NAB's data directory")
    parser.add_argument("--all", action="store_true", help="every load-like NAB series, not only the four")
    parser.add_argument("--only", nargs="*", default=None, help="these traces (paths under --nab)")
    args = parser.parse_args()
    names = args.only or (load_like(args.nab) if args.all else ACCEPTANCE)
    model = CapacityModel()
    rows: dict[str, Any] = {}
    settings: object = None
    for name in names:
        started = time.perf_counter()
        try:
            trace = load_trace(args.nab / name, model)
        except TraceError as exc:
            rows[name] = {"error": exc.message}
            continue
        report = simulate_all(trace, model).as_dict()
        settings = report["settings"]
        policies: dict[str, dict[str, Any]] = report["policies"]  # type: ignore[assignment]
        rows[name] = {
            "steps": report["trace"]["steps"],  # type: ignore[index]
            "gaps": report["trace"]["gaps"]["count"],  # type: ignore[index]
            "policies": policies,
            "targets": checks(policies, report["trace"]["steps"] * model.step_s / 60),  # type: ignore[index]
            "seconds": round(time.perf_counter() - started, 1),
        }
        print(f"{name}: {rows[name]['targets']}", file=sys.stderr)
    scored = [r for r in rows.values() if "targets" in r]
    summary = {
        "traces": len(scored),
        "no_more_violations_than_hpa": sum(bool(r["targets"]["no_more_violations_than_hpa"]) for r in scored),
        "within_1_15_oracle": sum(bool(r["targets"]["within_1_15_oracle"]) for r in scored),
        "hpa_violates": sum(bool(r["targets"]["hpa_violates"]) for r in scored),
        "bursty_traces": sum(bool(r["targets"]["bursty"]) for r in scored),
        "bursty_halved_at_no_more_hours": sum(
            bool(r["targets"]["halves_hpa_violations"] and r["targets"]["no_more_replica_hours_than_hpa"])
            for r in scored
        ),
    }
    print(json.dumps({"model": model.as_dict(), "settings": settings, "summary": summary, "traces": rows}, indent=2))


if __name__ == "__main__":
    main()
