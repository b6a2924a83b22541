"""``finpilot watch``: forecasts, the predictive autoscaler and its trace simulator.

``watch autoscale-sim`` replays a load trace under the predictive policy, the Kubernetes HPA
algorithm and an oracle, and prints each policy's SLO-violation minutes and replica-hours;
``watch forecast`` forecasts the steps after a trace's last row.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from finpilot.cli._output import JsonFlag, busy, out, print_json, table
from finpilot.watch import (
    CapacityModel,
    forecast_trace,
    load_trace,
    simulate_all,
    write_decisions,
)


def add_scale_commands(app: typer.Typer) -> None:
    """Add the scale commands to the ``watch`` group."""
    app.command("autoscale-sim")(autoscale_sim_cmd)
    app.command("forecast")(forecast_cmd)


def autoscale_sim_cmd(
    trace: Annotated[Path, typer.Option("--trace", dir_okay=False, help="A 'timestamp,value' CSV (NAB layout).")],
    decisions_out: Annotated[
        Path | None,
        typer.Option(
            "--decisions-out",
            dir_okay=False,
            help="Write the predictive policy's replicas as 'timestamp,replicas', one row per step.",
        ),
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Replay a load trace under the predictive policy, the HPA algorithm and an oracle.

    The trace is rescaled so its peak needs 20 replicas of 10 req/s; steps are 15 s; a replica is
    ready 60 s after it is asked for. Gaps up to 12 intervals are bridged by interpolation.
    """
    model = CapacityModel()
    loaded = load_trace(trace, model)
    with busy(f"simulating {loaded.name}"):
        report = simulate_all(loaded, model)
    if decisions_out is not None:
        write_decisions(decisions_out, loaded.times, report.results["predictive"].decisions)
    data = report.as_dict()
    if as_json:
        print_json(data)
        return
    grid = table(
        "policy", "violation min", "replica-hours", "x oracle", "actions", title=f"autoscale-sim: {loaded.name}"
    )
    for name, result in report.results.items():
        ratio = "-" if result.ratio_to_oracle is None else f"{result.ratio_to_oracle:.3f}"
        grid.add_row(name, str(result.violation_minutes), f"{result.replica_hours:.1f}", ratio, str(result.actions))
    console = out()
    console.print(grid)
    gaps = loaded.gaps_dict()
    if gaps["count"]:
        console.print(f"{gaps['count']} gap(s) bridged by interpolation ({gaps['seconds']:.0f} s in all).")
    if decisions_out is not None:
        console.print(f"decisions written to {decisions_out}")


def forecast_cmd(
    trace: Annotated[Path, typer.Option("--trace", dir_okay=False, help="A 'timestamp,value' CSV (NAB layout).")],
    horizon: Annotated[
        int, typer.Option("--horizon", min=1, max=10_000, help="Steps to forecast (the trace's own step).")
    ] = 12,
    model: Annotated[
        str, typer.Option("--model", help="Forecaster: seasonal (default; naive on unseasonal load), holt or naive.")
    ] = "seasonal",
    level: Annotated[float, typer.Option("--level", min=0.5, max=0.999, help="Prediction interval coverage.")] = 0.9,
    as_json: JsonFlag = False,
) -> None:
    """Forecast the steps after a trace's last row, with a prediction interval.

    The forecaster reads the whole trace at its own step (gaps are bridged by interpolation).
    """
    result = forecast_trace(trace, horizon=horizon, model=model, level=level)
    if as_json:
        print_json(result)
        return
    grid = table("timestamp", "mean", "lower", "upper", title=f"forecast: {result['trace']} ({result['model']})")
    for point in result["points"]:  # type: ignore[attr-defined]
        grid.add_row(point["time"], f"{point['mean']:.3f}", f"{point['lower']:.3f}", f"{point['upper']:.3f}")
    out().print(grid)
