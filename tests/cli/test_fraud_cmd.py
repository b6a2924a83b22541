"""``finpilot fraud train`` and ``finpilot fraud model list``: an artifact, its ledger entry, and the listing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cli_helpers import Invoke

from finpilot.audit import open_ledger
from finpilot.core import Settings
from finpilot.fraud import generate_payments, load_artifact, load_reference


@pytest.fixture(scope="module")
def payments_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """25 days of synthetic labelled payments from 2018-04-01."""
    path = tmp_path_factory.mktemp("cli-fraud") / "payments.csv"
    generate_payments(path, customers=60, terminals=120, days=25, seed=2)
    return path


def test_train_writes_an_artifact_and_records_it(
    invoke: Invoke, payments_csv: Path, tmp_path: Path, data_dir: Path
) -> None:
    out = tmp_path / "models" / "m1"
    args = ["--csv", str(payments_csv), "--out", str(out), "--from", "2018-04-03", "--to", "2018-04-20", "--json"]
    result = invoke("fraud", "train", *args)
    assert result.exit_code == 0, result.output
    info = json.loads(result.stdout)
    artifact = load_artifact(out)
    assert info["sha256"] == artifact.sha256
    assert info["training_window"] == ["2018-04-03", "2018-04-13"]  # the last 7 days are the holdout
    assert set(info["metrics"]) >= {"auc_roc", "average_precision", "card_precision_at_100"}
    with open_ledger(Settings(data_dir=data_dir)) as ledger:
        entry = ledger.entry(info["audit_index"]).fields
    assert (entry["kind"], entry["subject"]) == ("fraud.model", f"model:{artifact.version}")
    # The holdout days are saved as the model's drift reference, bound to its hash.
    reference = load_reference(out, artifact)
    assert reference.window == ("2018-04-14", "2018-04-20")
    assert set(reference.features) == set(artifact.feature_names)

    listed = invoke("fraud", "model", "list", "--dir", str(tmp_path / "models"), "--json")
    assert listed.exit_code == 0, listed.output
    models = json.loads(listed.stdout)["models"]
    assert [(m["version"], m["training_window"]) for m in models] == [(artifact.version, info["training_window"])]
    table = invoke("fraud", "model", "list", "--dir", str(out))
    assert table.exit_code == 0, table.output
    assert artifact.version in table.output


@pytest.mark.parametrize(
    ("extra", "needle"),
    [
        (["--from", "2018-13-01"], "from"),
        (["--from", "2018-04-20", "--to", "2018-04-10"], "before"),
        (["--from", "2019-01-01", "--to", "2019-02-01"], "no payments"),
        (["--from", "2018-04-01", "--to", "2018-04-05"], "holdout"),
    ],
)
def test_bad_windows_exit_2_and_write_nothing(
    invoke: Invoke, payments_csv: Path, tmp_path: Path, extra: list[str], needle: str
) -> None:
    out = tmp_path / "m"
    result = invoke("fraud", "train", "--csv", str(payments_csv), "--out", str(out), *extra)
    assert result.exit_code == 2, result.output
    assert needle in result.output
    assert not out.exists()


def test_models_in_an_empty_or_missing_dir(invoke: Invoke, tmp_path: Path) -> None:
    result = invoke("fraud", "model", "list", "--dir", str(tmp_path), "--json")
    assert result.exit_code == 0, result.output
    empty_registry = {"champion": None, "previous": [], "challenger": None}
    assert json.loads(result.stdout) == {"models": [], "registry": empty_registry}
    missing = invoke("fraud", "model", "list", "--dir", str(tmp_path / "nope"))
    assert missing.exit_code == 2, missing.output
