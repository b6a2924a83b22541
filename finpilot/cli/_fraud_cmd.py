"""``finpilot fraud``: replay a payment stream, train a model artifact, list artifacts."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Annotated

import typer

from finpilot.cli._context import ledger_for
from finpilot.cli._output import JsonFlag, busy, out, print_json, table
from finpilot.fraud import list_artifacts, read_payments, record_model, train_artifact
from finpilot.fraud import replay as run_replay

fraud_app = typer.Typer(
    help="Transaction surveillance: replay protocols, model training and artifacts for the fraud engine.",
    no_args_is_help=True,
)
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


def _metric(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


@fraud_app.command("train")
def train(
    ctx: typer.Context,
    csv_file: Annotated[
        Path,
        typer.Option("--csv", dir_okay=False, help="Labelled payments in the handbook CSV schema (plain or .gz)."),
    ],
    out_dir: Annotated[
        Path,
        typer.Option("--out", file_okay=False, help="Directory to write the artifact to (model.txt, manifest.json)."),
    ],
    start: Annotated[
        str | None, typer.Option("--from", help="First day of the training window (YYYY-MM-DD); default: the start.")
    ] = None,
    end: Annotated[
        str | None, typer.Option("--to", help="Last day of the training window (YYYY-MM-DD); default: the end.")
    ] = None,
    holdout_days: Annotated[
        int, typer.Option("--holdout-days", min=0, help="Last days of the window kept out of training for metrics.")
    ] = 7,
    as_json: JsonFlag = False,
) -> None:
    """Train a model on a labelled window, save it as an artifact and record it in the audit ledger."""
    with busy(f"training on {csv_file}"):
        artifact = train_artifact(read_payments(csv_file), start=start, end=end, holdout_days=holdout_days)
        artifact.save(out_dir)
    with ledger_for(ctx) as ledger:
        index = record_model(ledger, artifact)
    info = {
        "path": str(out_dir),
        "version": artifact.version,
        "sha256": artifact.sha256,
        "training_window": list(artifact.training_window),
        "metrics": {k: (v if math.isfinite(v) else None) for k, v in artifact.metrics.items()},
        "audit_index": index,
    }
    if as_json:
        print_json(info)
        return
    window = " to ".join(artifact.training_window)
    out().print(f"model {artifact.version} trained on {window}, saved to {out_dir}, audit entry {index}")


@fraud_app.command("models")
def models(
    directory: Annotated[
        Path,
        typer.Option("--dir", file_okay=False, help="An artifact directory, or a directory of artifact directories."),
    ] = Path("models"),
    as_json: JsonFlag = False,
) -> None:
    """List model artifacts with their hash, training window and holdout metrics."""
    found = list_artifacts(directory)
    if as_json:
        print_json({"models": [a.to_json() for a in found]})
        return
    grid = table("version", "training window", "AUC", "AP", "CP@100", "path", title=f"fraud models in {directory}")
    for a in found:
        m = a.metrics
        grid.add_row(
            a.version,
            " to ".join(a.training_window),
            _metric(m.get("auc_roc")),
            _metric(m.get("average_precision")),
            _metric(m.get("card_precision_at_100")),
            str(a.path),
        )
    out().print(grid)
