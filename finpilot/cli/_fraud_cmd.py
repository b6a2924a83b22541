"""``finpilot fraud``: replay a payment stream, train and list artifacts, drift, retraining and the registry.

The model registry lives in ``<data dir>/models`` unless ``--dir`` says otherwise: ``retrain``
adds challengers there, ``model promote`` and ``model rollback`` move the champion pointer, and
``model list`` shows which artifact holds which role.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import typer

from finpilot.cli._context import cli_actor, ledger_for, settings_for
from finpilot.cli._errors import EXIT_FAILED
from finpilot.cli._output import JsonFlag, busy, out, print_json, table
from finpilot.core import InputError
from finpilot.fraud import (
    DriftThresholds,
    ModelArtifact,
    ModelRegistry,
    Reference,
    RetrainPolicy,
    drift_report,
    holdout_reference,
    list_artifacts,
    load_artifact,
    load_reference,
    read_payments,
    read_state,
    record_drift,
    record_model,
    reference_from_window,
    retrain,
    train_artifact,
    window_from_table,
)
from finpilot.fraud import replay as run_replay

fraud_app = typer.Typer(
    help="Transaction surveillance: replay protocols, model training, drift, retraining and the model registry.",
    no_args_is_help=True,
)
"""The ``fraud`` command group."""

model_app = typer.Typer(
    help="The model registry: list the artifacts and their roles, promote a champion, roll back.",
    no_args_is_help=True,
)
"""The ``fraud model`` command group."""
fraud_app.add_typer(model_app, name="model")


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
        print_json(replay_json(report))
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


REPLAY_KEYS = frozenset(
    {
        "protocol", "auc_roc", "average_precision", "card_precision_at_100", "tx_per_s", "score_latency_ms",
        "payments_streamed", "payments_scored", "folds", "params", "validation", "model", "timings_s",
    }
)  # fmt: skip
"""The top-level keys of ``fraud replay --json``, whichever the protocol."""


def replay_json(report: dict[str, Any]) -> dict[str, Any]:
    """The replay report in the one shape ``--json`` prints for both protocols.

    The protocols report a little differently (the handbook chooses its parameters on
    validation folds, prequential has none and counts what it scored); a script reading
    ``--json`` must not have to know which ran, so the keys are made the same here.
    """
    shaped = dict(report)
    shaped["params"] = shaped.pop("selected_params", shaped.get("params"))
    shaped.setdefault("validation", [])  # prequential: fixed parameters, no search
    if "payments_scored" not in shaped:
        # Handbook: the test-week payments of every fold, known-compromised cards included.
        shaped["payments_scored"] = sum(
            int(f.get("test_payments", 0)) + int(f.get("removed_known_compromised", 0)) for f in shaped["folds"]
        )
    return shaped


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
        payments = read_payments(csv_file)
        artifact = train_artifact(payments, start=start, end=end, holdout_days=holdout_days)
        artifact.save(out_dir)
        # The holdout days become the drift reference (reference.json), so a console serving
        # this model can watch PSI without being told where the training data was.
        reference = holdout_reference(artifact, payments, days=holdout_days)
        if reference is not None:
            reference.save(out_dir)
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


DirOption = Annotated[
    Path | None,
    typer.Option(
        "--dir",
        file_okay=False,
        help="The models directory (registry); default: <data dir>/models.",
    ),
]


def _models_dir(ctx: typer.Context, directory: Path | None) -> Path:
    return directory if directory is not None else settings_for(ctx).data_dir / "models"


@model_app.command("list")
def list_models(
    ctx: typer.Context,
    directory: Annotated[
        Path | None,
        typer.Option(
            "--dir",
            file_okay=False,
            help="An artifact directory, or a directory of them (a registry); default: <data dir>/models.",
        ),
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """List model artifacts with their hash, training window, holdout metrics and registry role."""
    directory = _models_dir(ctx, directory)
    found = list_artifacts(directory)
    state = read_state(directory)
    if as_json:
        print_json(
            {
                "models": [{**a.to_json(), "role": state.role_of(a.version)} for a in found],
                "registry": state.to_json(),
            }
        )
        return
    grid = table(
        "version", "role", "training window", "AUC", "AP", "CP@100", "path", title=f"fraud models in {directory}"
    )
    for a in found:
        m = a.metrics
        grid.add_row(
            a.version,
            state.role_of(a.version) or "-",
            " to ".join(a.training_window),
            _metric(m.get("auc_roc")),
            _metric(m.get("average_precision")),
            _metric(m.get("card_precision_at_100")),
            str(a.path),
        )
    out().print(grid)


@fraud_app.command("drift")
def drift(
    ctx: typer.Context,
    model_dir: Annotated[Path, typer.Option("--model", file_okay=False, help="The model artifact directory.")],
    csv_file: Annotated[
        Path,
        typer.Option(
            "--csv", dir_okay=False, help="Recent labelled payments in the handbook CSV schema (plain or .gz)."
        ),
    ],
    start: Annotated[
        str | None,
        typer.Option("--from", help="First day compared (YYYY-MM-DD); default: the CSV's start + --warmup-days."),
    ] = None,
    end: Annotated[str | None, typer.Option("--to", help="Last day compared (YYYY-MM-DD); default: the end.")] = None,
    warmup_days: Annotated[
        int,
        typer.Option("--warmup-days", min=0, help="Days streamed first so windowed features have history."),
    ] = 30,
    reference_csv: Annotated[
        Path | None,
        typer.Option(
            "--reference-csv",
            dir_okay=False,
            help=(
                "For a model without reference.json: the CSV it was trained on. The reference is the 7 days after "
                "its training window (the holdout of `fraud train`), or --reference-from to --reference-to."
            ),
        ),
    ] = None,
    reference_from: Annotated[
        str | None, typer.Option("--reference-from", help="First day of the reference window (YYYY-MM-DD).")
    ] = None,
    reference_to: Annotated[
        str | None, typer.Option("--reference-to", help="Last day of the reference window (YYYY-MM-DD).")
    ] = None,
    threshold: Annotated[
        float, typer.Option("--threshold", min=0.0, max=1.0, help="Score at which a payment counts as flagged.")
    ] = 0.5,
    as_json: JsonFlag = False,
) -> None:
    """PSI of a CSV window's features and scores against the model's reference, and ADWIN on its errors.

    Exits 1 when drift is found, after recording it in the audit ledger (``fraud.drift``).
    """
    artifact = load_artifact(model_dir)
    with busy(f"comparing {csv_file} with model {artifact.version}"):
        if reference_csv is None:
            reference = load_reference(model_dir, artifact)
        else:
            reference = _reference_from_csv(artifact, reference_csv, reference_from, reference_to)
        table_ = read_payments(csv_file)
        if start is None and len(table_):
            first_day = int(table_.times[0]) // 86_400 + warmup_days
            start = str(np.datetime64(first_day, "D"))
        window = window_from_table(table_, start=start, end=end)
        report = drift_report(window, artifact, reference, DriftThresholds(), flag_threshold=threshold)
    report["csv"] = str(csv_file)
    report["window"] = {"from": start, "to": end, "payments": len(window)}
    report["audit_index"] = None
    if report["status"] == "drift":
        evidence = {
            "source": csv_file.name,
            "window": report["window"],
            "score_psi": report["psi"]["score_psi"],
            "drifted_features": report["psi"]["drifted_features"],
            "adwin": report["adwin"],
        }
        with ledger_for(ctx) as ledger:
            signal = "+".join(report["signals"])
            report["audit_index"] = record_drift(
                ledger, signal=signal, model_version=artifact.version, evidence=evidence, actor=cli_actor()
            )
    if as_json:
        print_json(report)
    else:
        _print_drift(report)
    if report["status"] == "drift":
        raise typer.Exit(EXIT_FAILED)


def _reference_from_csv(artifact: ModelArtifact, path: Path, first: str | None, last: str | None) -> Reference:
    if first is None or last is None:
        trained_to = artifact.training_window[1]
        if not trained_to:
            raise InputError(
                "the model's manifest has no training window",
                field="--reference-from",
                fix="give --reference-from and --reference-to",
            )
        # Out of sample, right after training, as the model's holdout was: scores there look like live ones.
        day = np.datetime64(trained_to, "D")
        first = first or str(day + np.timedelta64(1, "D"))
        last = last or str(day + np.timedelta64(7, "D"))
    window = window_from_table(read_payments(path), start=first, end=last)
    return reference_from_window(artifact, window)


def _print_drift(report: dict[str, Any]) -> None:
    psi = report["psi"]
    console = out()
    grid = table("feature", "PSI", "level", title=f"fraud drift: model {report['model_version']}")
    grid.add_row("(score)", f"{psi['score_psi']:.3f}", "drift" if psi["score_psi"] >= DriftThresholds().drift else "-")
    for feature in psi["features"]:
        grid.add_row(feature["name"], f"{feature['psi']:.3f}", feature["level"])
    console.print(grid)
    adwin = report["adwin"]
    rate = adwin["error_rate"]
    console.print(
        f"errors: {adwin['errors']} of {adwin['labels']} labels"
        + (f" ({rate:.3f})" if rate is not None else "")
        + ("; ADWIN found the error rate rising" if adwin["drift"] else "; ADWIN found no rise")
    )
    line = f"status: {report['status']}"
    if report["audit_index"] is not None:
        line += f" ({', '.join(report['signals'])}), recorded as audit entry {report['audit_index']}"
    console.print(line)


@fraud_app.command("retrain")
def retrain_cmd(
    ctx: typer.Context,
    csv_file: Annotated[
        Path,
        typer.Option(
            "--csv", dir_okay=False, help="Recent labelled payments in the handbook CSV schema (plain or .gz)."
        ),
    ],
    directory: DirOption = None,
    start: Annotated[
        str | None, typer.Option("--from", help="First day of the window (YYYY-MM-DD); default: the CSV's start.")
    ] = None,
    end: Annotated[
        str | None, typer.Option("--to", help="Last day of the window (YYYY-MM-DD); default: the end.")
    ] = None,
    holdout_days: Annotated[
        int, typer.Option("--holdout-days", min=1, help="Last days of the window on which both models are compared.")
    ] = 7,
    min_gain: Annotated[
        float, typer.Option("--min-gain", help="The challenger's AP must beat the champion's by at least this.")
    ] = 0.0,
    auc_tolerance: Annotated[
        float,
        typer.Option(
            "--auc-tolerance", min=0.0, help="How far the challenger's AUC may fall below the champion's AUC."
        ),
    ] = 0.01,
    min_holdout_frauds: Annotated[
        int, typer.Option("--min-holdout-frauds", min=1, help="Refuse when the holdout has fewer frauds than this.")
    ] = 10,
    as_json: JsonFlag = False,
) -> None:
    """Train a challenger on a labelled window, compare it with the champion, promote or refuse by policy.

    The challenger is saved in the registry; the verdict, with both models' metrics, is audited.
    """
    policy = RetrainPolicy(
        holdout_days=holdout_days,
        min_gain=min_gain,
        auc_tolerance=auc_tolerance,
        min_holdout_frauds=min_holdout_frauds,
    )
    root = _models_dir(ctx, directory)
    with busy(f"retraining on {csv_file}"):
        window = window_from_table(read_payments(csv_file), start=start, end=end)
        with ledger_for(ctx) as ledger:
            evaluation, index = retrain(window, ModelRegistry(root, ledger), policy, actor=cli_actor())
    result = {**evaluation.to_json(), "audit_index": index, "dir": str(root)}
    if as_json:
        print_json(result)
        return
    console = out()
    grid = table("metric", "challenger", "champion", title=f"challenger {evaluation.challenger.version}")
    champion = result["champion"]["metrics"] or {}
    for metric, value in result["challenger"]["metrics"].items():
        grid.add_row(metric, _metric(value), _metric(champion.get(metric)))
    console.print(grid)
    holdout = result["holdout"]
    console.print(
        f"holdout {holdout['from']} to {holdout['to']}: {holdout['payments']} payments, {holdout['frauds']} frauds"
    )
    console.print(f"verdict: {evaluation.verdict} ({'; '.join(evaluation.reasons)}), audit entry {index}")


@model_app.command("promote")
def promote(
    ctx: typer.Context,
    version: Annotated[str, typer.Argument(help="The model version (12 hex digits, see `finpilot fraud model list`).")],
    directory: DirOption = None,
    reason: Annotated[str, typer.Option("--reason", help="Why, for the audit entry.")] = "",
    as_json: JsonFlag = False,
) -> None:
    """Make a model the champion; the old champion is kept for rollback. Audited before the pointer moves."""
    root = _models_dir(ctx, directory)
    with ledger_for(ctx) as ledger:
        registry = ModelRegistry(root, ledger)
        index = registry.promote(version, actor=cli_actor(), reason=reason)
        state = registry.state()
    if as_json:
        print_json({**state.to_json(), "audit_index": index})
        return
    out().print(f"model {state.champion} is the champion, audit entry {index}")


@model_app.command("rollback")
def rollback(
    ctx: typer.Context,
    directory: DirOption = None,
    reason: Annotated[str, typer.Option("--reason", help="Why, for the audit entry.")] = "",
    as_json: JsonFlag = False,
) -> None:
    """Make the previous champion the champion again. Audited before the pointer moves."""
    root = _models_dir(ctx, directory)
    with ledger_for(ctx) as ledger:
        registry = ModelRegistry(root, ledger)
        artifact, index = registry.rollback(actor=cli_actor(), reason=reason)
        state = registry.state()
    if as_json:
        print_json({**state.to_json(), "audit_index": index})
        return
    out().print(f"rolled back: model {artifact.version} is the champion again, audit entry {index}")
