"""Model artifacts: hash verified on load, tampering refused; the scorer's live path and rules."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from fraud_helpers import payments, stream

from finpilot.core import IntegrityError, NotFoundError
from finpilot.fraud import FEATURE_NAMES, FeatureEngine, ModelArtifact, Scorer, load_artifact
from finpilot.fraud._csv import PaymentTable
from finpilot.fraud._models._artifact import predict, train_model
from finpilot.fraud._rules import Rules

SMALL = {"num_leaves": 7, "num_iterations": 20, "min_data_in_leaf": 5}


@pytest.fixture(scope="module")
def artifact(stream_table: PaymentTable) -> ModelArtifact:
    rows = payments(stream_table)
    x = np.asarray(stream(FeatureEngine(), rows, stream_table.frauds.tolist()), dtype=np.float32)
    booster = train_model(x, stream_table.frauds, SMALL)
    return ModelArtifact.build(booster, FEATURE_NAMES, ("2018-04-01", "2018-05-15"), SMALL, {"average_precision": 0.5})


def test_save_and_load_round_trip(artifact: ModelArtifact, tmp_path: Path) -> None:
    loaded = load_artifact(artifact.save(tmp_path / "m"))
    assert loaded.sha256 == artifact.sha256
    assert loaded.version == artifact.sha256[:12]
    assert loaded.feature_names == FEATURE_NAMES
    assert loaded.training_window == ("2018-04-01", "2018-05-15")
    assert loaded.metrics == {"average_precision": 0.5}
    x = np.random.default_rng(0).random((5, len(FEATURE_NAMES)), dtype=np.float32)
    np.testing.assert_array_equal(predict(loaded.booster, x), predict(artifact.booster, x))


def test_a_tampered_model_is_refused(artifact: ModelArtifact, tmp_path: Path) -> None:
    directory = artifact.save(tmp_path / "m")
    model = directory / "model.txt"
    model.write_text(model.read_text().replace("leaf_value=", "leaf_value=1", 1))
    with pytest.raises(IntegrityError) as info:
        load_artifact(directory)
    assert info.value.field == "sha256"


def test_a_missing_model_file_is_not_found(artifact: ModelArtifact, tmp_path: Path) -> None:
    directory = artifact.save(tmp_path / "m")
    (directory / "model.txt").unlink()
    with pytest.raises(NotFoundError):
        load_artifact(directory)


def test_scorer_scores_one_payment_and_applies_rules(artifact: ModelArtifact, stream_table: PaymentTable) -> None:
    rows = payments(stream_table)
    scorer = Scorer(FeatureEngine(), artifact, Rules(max_amount=150.0))
    verdicts = [scorer.score_one(p) for p in rows[:500]]
    assert all(0.0 <= v.score <= 1.0 and v.model_version == artifact.version for v in verdicts)
    for p, v in zip(rows, verdicts, strict=False):
        assert bool(v.reasons) == (p.amount > 150.0)
        if v.reasons:
            assert v.score >= 0.99
            assert "amount" in v.reasons[0]
        else:
            assert v.score == v.model_score


def test_rules_are_off_by_default() -> None:
    vector = [1e9] * len(FEATURE_NAMES)
    assert Rules().apply(0.1, vector) == (0.1, ())
    score, reasons = Rules(max_tx_per_day=3, max_large_per_week=1).apply(0.1, vector)
    assert score == 0.99
    assert len(reasons) == 2


def test_record_model_appends_an_audit_entry(artifact: ModelArtifact, tmp_path: Path) -> None:
    from finpilot.audit import open_ledger
    from finpilot.core import Settings
    from finpilot.fraud import record_model

    with open_ledger(Settings(data_dir=tmp_path / "data")) as ledger:
        index = record_model(ledger, artifact, action="promote")
        fields = ledger.entry(index).fields
    assert fields["kind"] == "fraud.model"
    assert fields["subject"] == f"model:{artifact.version}"
    assert fields["action"] == "promote"
    assert fields["evidence"]["sha256"] == artifact.sha256
