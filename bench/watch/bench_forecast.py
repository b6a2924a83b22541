"""Forecast accuracy on NAB's traffic and load series: which forecaster, at which step.

Each series is replayed online at its own step (gaps bridged by linear interpolation; only real
rows are scored): at every step after a warm-up (the first 20 %), each forecaster forecasts 20
steps, then learns the next value. Per forecaster and series: MAE at horizons 1, 5, 10 and 20
and averaged over 1..20, MASE (MAE over the in-sample MAE of the one-step naive forecast; < 1
beats it) and the coverage of the 90 % interval (nominal 0.90).

With ``--sim-grid`` the three AWS acceptance traces are also replayed at the simulator's 15 s step
(the load the predictive policy forecasts, rescaled and interpolated as in the capacity model),
at horizons 1..8 (two minutes: the policy looks 1 + 4 + 1 steps ahead).

Prints ONE JSON object on stdout. Example:
    .venv/bin/python -m bench.watch.bench_forecast --nab ../shared/data/nab/data --sim-grid > bench/out/forecast.json
"""

from __future__ import annotations

import argparse
import itertools
import json
import statistics
import sys
from collections import deque
from pathlib import Path
from typing import Any

import numpy as np

from finpilot.watch import FORECASTERS, CapacityModel, Forecast, TraceError, load_trace, make_forecaster
from finpilot.watch._scale._trace import read_rows

SERIES = [
    "realKnownCause/nyc_taxi.csv",
    "realAWSCloudwatch/elb_request_count_8c0756.csv",
    "realAWSCloudwatch/rds_cpu_utilization_cc0c53.csv",
    "realAWSCloudwatch/ec2_cpu_utilization_5f5533.csv",
    "realTraffic/TravelTime_387.csv",
    "realTraffic/TravelTime_451.csv",
    "realTraffic/occupancy_6005.csv",
    "realTraffic/occupancy_t4013.csv",
    "realTraffic/speed_6005.csv",
    "realTraffic/speed_7578.csv",
    "realTraffic/speed_t4013.csv",
]
SIM_GRID = SERIES[1:4]
REPORT_H = (1, 5, 10, 20)


def score(values: list[float], real: list[bool], step: float, horizon: int, models: tuple[str, ...]) -> dict[str, Any]:
    """Replay ``values`` through every forecaster; MAE, MASE and coverage per horizon."""
    warm = len(values) // 5
    naive_mae = float(np.mean(np.abs(np.diff(values[:warm])))) or 1e-9
    out: dict[str, Any] = {}
    for name in models:
        model = make_forecaster(name, step, 0.9, track=horizon)
        errors = [[] for _ in range(horizon)]  # type: list[list[float]]
        covered = [0] * horizon
        pending: deque[tuple[int, Forecast]] = deque()
        for i, v in enumerate(values):
            while pending and pending[0][0] + horizon < i:
                pending.popleft()
            if real[i]:
                for made, fc in pending:
                    h = i - made - 1
                    if 0 <= h < horizon:
                        errors[h].append(abs(v - fc.mean[h]))
                        covered[h] += fc.lower[h] <= v <= fc.upper[h]
            model.update(i * step, v)
            if i >= warm:
                pending.append((i, model.forecast(horizon)))
        mae = [statistics.fmean(e) if e else float("nan") for e in errors]
        out[name] = {
            "mae": {str(h): round(mae[h - 1], 4) for h in REPORT_H if h <= horizon},
            "mae_mean": round(statistics.fmean(mae), 4),
            "mase": {str(h): round(mae[h - 1] / naive_mae, 3) for h in REPORT_H if h <= horizon},
            "mase_mean": round(statistics.fmean(mae) / naive_mae, 3),
            "coverage_90": round(sum(covered) / max(1, sum(len(e) for e in errors)), 3),
        }
    return out


def native(path: Path) -> tuple[list[float], list[bool], float]:
    """The series at its own step, interpolated over gaps, with which steps are real rows."""
    times, values = read_rows(path)
    step = statistics.median(b - a for a, b in itertools.pairwise(times))
    count = round((times[-1] - times[0]) / step) + 1
    grid = np.linspace(times[0], times[0] + (count - 1) * step, count)
    rows = {round((t - times[0]) / step) for t in times}
    return [float(v) for v in np.interp(grid, times, values)], [i in rows for i in range(count)], step


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nab", type=Path, default=Path("../shared/data/nab/data"), help="NAB's data directory")
    parser.add_argument("--sim-grid", action="store_true", help="also score the AWS traces at the 15 s step")
    args = parser.parse_args()
    result: dict[str, Any] = {"native": {}, "sim_grid": {}}
    for name in SERIES:
        try:
            values, real, step = native(args.nab / name)
        except TraceError as exc:
            # Refused as a trace would be (e.g. duplicate timestamps): reported, not scored.
            result["native"][name] = {"error": exc.message}
            continue
        result["native"][name] = {"step_s": step, "rows": sum(real), **score(values, real, step, 20, FORECASTERS)}
        print(f"native {name}", file=sys.stderr)
    if args.sim_grid:
        model = CapacityModel()
        for name in SIM_GRID:
            trace = load_trace(args.nab / name, model)
            demand = list(trace.demand)
            result["sim_grid"][name] = score(demand, [True] * len(demand), model.step_s, 8, ("holt", "naive"))
            print(f"sim-grid {name}", file=sys.stderr)
    wins: dict[str, int] = {}
    for rows in result["native"].values():
        if "error" in rows:
            continue
        best = min(FORECASTERS, key=lambda n: rows[n]["mase_mean"])
        wins[best] = wins.get(best, 0) + 1
    result["native_best_by_mean_mase"] = wins
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
