"""The replay protocols and ``finpilot fraud replay``: JSON shape, predictions, exit codes."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from finpilot.cli import app
from finpilot.cli._fraud_cmd import REPLAY_KEYS, replay_json
from finpilot.fraud import build_handbook_data, read_payments, run_handbook

TINY_GRID = (
    {"num_leaves": 7, "num_iterations": 20, "min_data_in_leaf": 10},
    {"num_leaves": 3, "num_iterations": 10, "min_data_in_leaf": 10},
)
METRICS = ("auc_roc", "average_precision", "card_precision_at_100")


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, ["fraud", "replay", *args])
    return result.exit_code, result.stdout, result.stderr


def test_handbook_protocol(handbook_csv: Path) -> None:
    data = build_handbook_data(read_payments(handbook_csv))
    report, predictions, artifact = run_handbook(data, TINY_GRID, latency_samples=50)
    assert [f["train_start"] for f in report["folds"]] == ["2018-07-25", "2018-08-01", "2018-08-08", "2018-08-15"]
    assert [f["test_start"] for f in report["folds"]] == ["2018-08-08", "2018-08-15", "2018-08-22", "2018-08-29"]
    assert len(report["validation"]) == len(TINY_GRID)
    assert report["selected_params"] in [dict(p) for p in TINY_GRID]
    for metric in METRICS:
        assert len(report[metric]["folds"]) == 4
        assert 0.0 <= report[metric]["mean"] <= 1.0
    assert report["score_latency_ms"]["samples"] == 50
    assert report["tx_per_s"] > 0
    assert sum(f["test_payments"] + f["removed_known_compromised"] for f in report["folds"]) == len(predictions)
    assert artifact.training_window == ("2018-08-15", "2018-08-21")
    # `fraud replay --json` prints both protocols in one shape (tests/cli/test_cli_shape.py runs prequential).
    shaped = replay_json(report)
    assert set(shaped) == REPLAY_KEYS
    assert (shaped["params"], shaped["payments_scored"]) == (report["selected_params"], len(predictions))
    # Only test-week payments are scored.
    table = data.table
    index = {tx: i for i, tx in enumerate(table.tx_ids)}
    days = {str(table.times[index[tx]].astype("datetime64[s]"))[:10] for tx in predictions}
    assert min(days) == "2018-08-08"
    assert max(days) == "2018-09-04"


def test_cli_prequential_json_and_predictions(stream_csv: Path, tmp_path: Path) -> None:
    out = tmp_path / "pred.csv"
    model = tmp_path / "model"
    code, stdout, stderr = run(
        "--csv",
        str(stream_csv),
        "--protocol",
        "prequential",
        "--json",
        "--predictions-out",
        str(out),
        "--model-out",
        str(model),
    )
    assert code == 0, stderr
    report = json.loads(stdout)
    assert report["protocol"] == "prequential"
    for metric in METRICS:
        assert set(report[metric]) == {"mean", "folds"}
    assert set(report["score_latency_ms"]) == {"p50", "p99", "samples"}
    assert report["score_latency_ms"]["p99"] > 0
    with out.open() as fh:
        rows = list(csv.reader(fh))
    assert rows[0] == ["TRANSACTION_ID", "score"]
    assert len(rows) - 1 == report["payments_scored"] > 0
    assert all(0.0 <= float(score) <= 1.0 for _, score in rows[1:])
    assert (model / "manifest.json").exists()


def test_cli_human_output(stream_csv: Path) -> None:
    code, stdout, stderr = run("--csv", str(stream_csv), "--protocol", "prequential", "--warmup-days", "38")
    assert code == 0, stderr
    assert "average_precision" in stdout


@pytest.mark.parametrize("column", ["TX_AMOUNT", "TERMINAL_ID"])
def test_cli_missing_column_exits_2_naming_it(tmp_path: Path, column: str) -> None:
    header = ["TRANSACTION_ID", "TX_DATETIME", "CUSTOMER_ID", "TERMINAL_ID", "TX_AMOUNT", "TX_FRAUD"]
    header.remove(column)
    path = tmp_path / "bad.csv"
    path.write_text(",".join(header) + "\n")
    code, stdout, stderr = run("--csv", str(path), "--json")
    assert code == 2
    assert column in stderr
    assert json.loads(stdout)["field"] == column


def test_cli_bad_row_exits_2_naming_the_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_text("TRANSACTION_ID,TX_DATETIME,CUSTOMER_ID,TERMINAL_ID,TX_AMOUNT,TX_FRAUD\n1,yesterday,1,2,3,0\n")
    code, _, stderr = run("--csv", str(path))
    assert code == 2
    assert "line 2" in stderr
    assert "TX_DATETIME" in stderr


def test_cli_handbook_on_data_outside_the_folds_exits_2(stream_csv: Path) -> None:
    code, _, stderr = run("--csv", str(stream_csv), "--protocol", "handbook")
    assert code == 2
    assert "2018-06-20" in stderr


def test_cli_unknown_protocol_and_short_stream(stream_csv: Path) -> None:
    assert run("--csv", str(stream_csv), "--protocol", "nope")[0] == 2
    code, _, stderr = run("--csv", str(stream_csv), "--protocol", "prequential", "--warmup-days", "400")
    assert code == 2
    assert "warm-up" in stderr
