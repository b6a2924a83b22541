"""``finpilot fraud``: replay a payment stream through the surveillance engine's protocols."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from finpilot.cli._output import JsonFlag, busy, out, print_json, table
from finpilot.fraud import replay as run_replay

fraud_app = typer.Typer(help="Transaction surveillance: replay protocols for the fraud engine.", no_args_is_help=True)
"""The ``fraud`` command group."""


@fraud_app.command("replay")
def replay(
    csv_file: Annotated[
        Path,
        typer.Option("--csv", dir_okay=False, help="Payments in the handbook CSV schema (plain or .gz)."),
    ],
    protocol: Annotated[
        str,
        typer.Option("--protocol", help="handbook (the published 4-fold protocol) or prequential (production-like)."),
    ] = "handbook",
    predictions_out: Annotated[
        Path | None,
        typer.Option("--predictions-out", dir_okay=False, help="Write TRANSACTION_ID,score for every scored payment."),
    ] = None,
    model_out: Annotated[
        Path | None,
        typer.Option("--model-out", file_okay=False, help="Save the last trained model as an artifact directory."),
    ] = None,
    warmup_days: Annotated[
        int, typer.Option("--warmup-days", min=1, help="prequential: days streamed before scoring starts.")
    ] = 30,
    retrain_days: Annotated[
        int, typer.Option("--retrain-days", min=1, help="prequential: days between retrainings.")
    ] = 7,
    as_json: JsonFlag = False,
) -> None:
    """Stream a payment CSV in time order through the features and models; labels show 7 days late."""
    if protocol not in {"handbook", "prequential"}:
        raise typer.BadParameter("use handbook or prequential", param_hint="--protocol")
    with busy(f"replaying {csv_file} ({protocol})"):
        report = run_replay(
            csv_file,
            "handbook" if protocol == "handbook" else "prequential",
            predictions_out=predictions_out,
            model_out=model_out,
            warmup_days=warmup_days,
            retrain_days=retrain_days,
        )
    if as_json:
        print_json(report)
        return
    grid = table("metric", "mean", "per fold", title=f"fraud replay: {protocol}")
    for metric in ("auc_roc", "average_precision", "card_precision_at_100"):
        values = report[metric]
        folds = ", ".join("-" if v is None else f"{v:.3f}" for v in values["folds"])
        grid.add_row(metric, "-" if values["mean"] is None else f"{values['mean']:.3f}", folds)
    console = out()
    console.print(grid)
    latency = report.get("score_latency_ms") or {}
    console.print(
        f"{report['tx_per_s']:.0f} payments/s; score latency p50 {latency.get('p50')} ms, p99 {latency.get('p99')} ms"
    )
