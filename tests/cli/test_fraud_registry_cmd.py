"""``finpilot fraud drift | retrain | model promote | model rollback``, and the roles in ``fraud model list``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from cli_helpers import Invoke

from finpilot.audit import open_ledger
from finpilot.core import Settings
from finpilot.fraud import Shift, generate_payments

POPULATION: dict[str, Any] = {"customers": 50, "terminals": 100, "seed": 5, "compromised_terminals_per_day": 0.3}


@pytest.fixture(scope="module")
def csvs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """40 days of payments, and the same population shifted (bigger amounts, more compromised terminals)."""
    root = tmp_path_factory.mktemp("cli-drift")
    plain, shifted = root / "plain.csv", root / "shifted.csv"
    generate_payments(plain, days=40, **POPULATION)
    generate_payments(shifted, days=40, shift=Shift(amount_scale=2.0, terminal_fraud_scale=4.0), **POPULATION)
    return plain, shifted


def _kinds(data_dir: Path) -> list[tuple[str, str]]:
    with open_ledger(Settings(data_dir=data_dir)) as ledger:
        return [(e["kind"], e["action"]) for e in (ledger.entry(i).fields for i in range(ledger.size))]


def test_retrain_drift_promote_rollback_through_the_cli(
    invoke: Invoke, csvs: tuple[Path, Path], data_dir: Path
) -> None:
    plain, shifted = csvs
    first = invoke("fraud", "retrain", "--csv", str(plain), "--to", "2018-04-30", "--min-holdout-frauds", "3", "--json")
    assert first.exit_code == 0, first.output
    champion = json.loads(first.stdout)
    assert champion["verdict"] == "promote"
    assert champion["reasons"] == ["there is no champion"]
    version = champion["challenger"]["version"]
    model_dir = data_dir / "models" / version
    assert (model_dir / "reference.json").is_file()

    stable = invoke("fraud", "drift", "--model", str(model_dir), "--csv", str(plain), "--json")
    assert stable.exit_code == 0, stable.output
    report = json.loads(stable.stdout)
    assert report["status"] in {"ok", "warn"}
    assert report["audit_index"] is None
    assert report["window"]["from"] == "2018-05-01"  # 30 warm-up days by default

    drifted = invoke("fraud", "drift", "--model", str(model_dir), "--csv", str(shifted), "--json")
    assert drifted.exit_code == 1, drifted.output  # a gate: drift fails the step
    report = json.loads(drifted.stdout)
    assert report["status"] == "drift"
    assert "psi" in report["signals"]
    assert report["psi"]["score_psi"] >= 0.25 or report["psi"]["inputs_drifted"]
    human = invoke("fraud", "drift", "--model", str(model_dir), "--csv", str(shifted))
    assert human.exit_code == 1
    assert "status: drift" in human.output
    assert "(score)" in human.output

    second = invoke("fraud", "retrain", "--csv", str(shifted), "--min-holdout-frauds", "3", "--json")
    assert second.exit_code == 0, second.output
    judged = json.loads(second.stdout)
    assert judged["champion"]["version"] == version
    assert set(judged["challenger"]["metrics"]) == set(judged["champion"]["metrics"])
    challenger = judged["challenger"]["version"]

    if judged["verdict"] == "refuse":  # promote by hand what the policy turned down
        promoted = invoke("fraud", "model", "promote", challenger, "--reason", "analyst call", "--json")
        assert promoted.exit_code == 0, promoted.output
    listed = json.loads(invoke("fraud", "model", "list", "--json").stdout)
    assert listed["registry"]["champion"] == challenger
    assert listed["registry"]["previous"] == [version]
    roles = {m["version"]: m["role"] for m in listed["models"]}
    assert roles == {challenger: "champion", version: "previous"}
    table = invoke("fraud", "model", "list")
    assert table.exit_code == 0
    assert "champion" in table.output
    assert "previous" in table.output

    back = invoke("fraud", "model", "rollback", "--reason", "too many reviews", "--json")
    assert back.exit_code == 0, back.output
    assert json.loads(back.stdout)["champion"] == version
    again = invoke("fraud", "model", "rollback")
    assert again.exit_code == 2
    assert "previous" in again.output

    kinds = _kinds(data_dir)
    assert ("fraud.drift", "detect") in kinds  # the drift the CLI found is on record
    assert kinds.count(("fraud.model", "register")) == 2
    assert kinds[-1] == ("fraud.model", "rollback")


def test_bad_input_names_the_field(invoke: Invoke, csvs: tuple[Path, Path], tiny_fraud_model: Path) -> None:
    plain, _ = csvs
    unknown = invoke("fraud", "model", "promote", "abcdef123456")
    assert unknown.exit_code == 2
    assert "no model abcdef123456" in unknown.output
    no_reference = invoke("fraud", "drift", "--model", str(tiny_fraud_model), "--csv", str(plain))
    assert no_reference.exit_code == 2
    assert "--reference-csv" in no_reference.output
    short = invoke("fraud", "retrain", "--csv", str(plain), "--from", "2018-04-01", "--to", "2018-04-05")
    assert short.exit_code == 2
    assert "holdout" in short.output
    bad_date = invoke("fraud", "retrain", "--csv", str(plain), "--from", "April")
    assert bad_date.exit_code == 2
    assert "from" in bad_date.output


def test_drift_with_a_reference_csv_for_a_model_trained_by_fraud_train(
    invoke: Invoke, csvs: tuple[Path, Path], tmp_path: Path
) -> None:
    plain, shifted = csvs
    model = tmp_path / "m"
    trained = invoke("fraud", "train", "--csv", str(plain), "--out", str(model), "--to", "2018-04-30")
    assert trained.exit_code == 0, trained.output
    args = ["fraud", "drift", "--model", str(model), "--reference-csv", str(plain), "--json"]
    assert invoke(*args, "--csv", str(plain)).exit_code == 0
    assert invoke(*args, "--csv", str(shifted)).exit_code == 1
