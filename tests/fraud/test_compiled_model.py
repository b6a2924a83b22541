"""The compiled model: LightGBM's scores to within 1e-6, its hash checked, older artifacts still served."""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from finpilot.core import IntegrityError
from finpilot.fraud import FEATURE_NAMES, FeatureEngine, ModelArtifact, Scorer, load_artifact
from finpilot.fraud._models._artifact import train_model
from finpilot.fraud._models._compiled import COMPILED_DIR, CompiledModel, compile_model, target_key
from finpilot.fraud._payment import Payment

N = len(FEATURE_NAMES)
PARAMS = {"num_leaves": 15, "num_iterations": 40, "min_data_in_leaf": 5}


@pytest.fixture(scope="module")
def artifact() -> ModelArtifact:
    """A model trained on data with NaNs in every column, so that its trees learn where missing values go."""
    rng = np.random.default_rng(3)
    x = rng.normal(size=(3000, N)).astype(np.float32)
    x[rng.random(x.shape) < 0.15] = np.nan
    signal = np.nan_to_num(x[:, 0], nan=2.0) + np.nan_to_num(x[:, 1]) + rng.normal(scale=0.5, size=len(x))
    labels = (signal > 1.5).astype(np.int8)
    booster = train_model(x, labels, PARAMS)
    return ModelArtifact.build(booster, FEATURE_NAMES, ("2026-01-01", "2026-01-31"), PARAMS)


@pytest.fixture(scope="module")
def compiled(artifact: ModelArtifact) -> CompiledModel:
    return CompiledModel(compile_model(artifact.booster.model_to_string()), N)


def _lightgbm(artifact: ModelArtifact, rows: np.ndarray) -> np.ndarray:
    return np.asarray(artifact.booster.predict(rows, num_threads=1), dtype=np.float64)


values = st.one_of(
    st.just(float("nan")),
    st.floats(min_value=-5, max_value=5, allow_nan=False),
    st.floats(allow_nan=False, allow_infinity=True, width=32),
    st.sampled_from([0.0, -0.0, 1e-300, -1e-300]),
)


@settings(max_examples=300, deadline=None)
@given(row=arrays(np.float64, N, elements=values))
def test_one_row_scores_as_lightgbm_does(artifact: ModelArtifact, compiled: CompiledModel, row: np.ndarray) -> None:
    expected = _lightgbm(artifact, row.reshape(1, -1))[0]
    assert abs(compiled.predict_one(row) - expected) <= 1e-6


@settings(max_examples=30, deadline=None)
@given(rows=arrays(np.float32, st.tuples(st.integers(0, 40), st.just(N)), elements=values.map(np.float32)))
def test_batches_score_as_lightgbm_does(artifact: ModelArtifact, compiled: CompiledModel, rows: np.ndarray) -> None:
    got = compiled.predict(rows)
    assert got.shape == (len(rows),)
    if len(rows):
        assert np.abs(got - _lightgbm(artifact, rows.astype(np.float64))).max() <= 1e-6


def test_a_row_of_the_wrong_length_or_type_is_refused(compiled: CompiledModel) -> None:
    # Native code reads n_features doubles from the pointer: a short row must never reach it.
    with pytest.raises(ValueError):
        compiled.predict_one(np.zeros(N - 1))
    with pytest.raises(ValueError):
        compiled.predict_one(np.zeros(N, dtype=np.float32))


def test_save_writes_the_compiled_form_and_its_hash(artifact: ModelArtifact, tmp_path: Path) -> None:
    directory = artifact.save(tmp_path / "m")
    manifest = json.loads((directory / "manifest.json").read_text())
    entry = manifest["compiled"][target_key()]
    assert entry["file"] == f"{COMPILED_DIR}/{target_key()}.o"
    assert "lleaves" in entry["compiler"]
    loaded = load_artifact(directory)
    assert loaded.compiled is not None
    assert loaded.compiled.sha256 == entry["sha256"]
    rows = np.random.default_rng(1).normal(size=(200, N))
    rows[::3, 2] = np.nan
    got = np.array([loaded.predict_one(np.ascontiguousarray(r)) for r in rows])
    assert np.abs(got - _lightgbm(artifact, rows)).max() <= 1e-6
    assert (
        np.abs(loaded.predict_rows(rows.astype(np.float32)) - _lightgbm(artifact, rows.astype(np.float32))).max()
        <= 1e-6
    )


def test_a_tampered_compiled_file_is_refused(artifact: ModelArtifact, tmp_path: Path) -> None:
    directory = artifact.save(tmp_path / "m")
    path = directory / COMPILED_DIR / f"{target_key()}.o"
    code = bytearray(path.read_bytes())
    code[len(code) // 2] ^= 0xFF
    path.write_bytes(bytes(code))
    with pytest.raises(IntegrityError) as info:
        load_artifact(directory)
    assert info.value.field == "compiled"
    assert str(path) in str(info.value)
    assert info.value.fix is not None
    assert "delete" in info.value.fix


def test_an_artifact_without_a_compiled_form_is_compiled_at_load(
    artifact: ModelArtifact, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # What artifacts written before compiled forms existed look like.
    directory = artifact.save(tmp_path / "m")
    shutil.rmtree(directory / COMPILED_DIR)
    manifest = json.loads((directory / "manifest.json").read_text())
    del manifest["compiled"]
    (directory / "manifest.json").write_text(json.dumps(manifest))
    with caplog.at_level(logging.WARNING, logger="finpilot.fraud.models"):
        loaded = load_artifact(directory)
    assert loaded.compiled is not None
    assert loaded.sha256 == artifact.sha256
    assert any("no compiled form" in r.getMessage() for r in caplog.records)
    row = np.full(N, np.nan)
    assert abs(loaded.predict_one(row) - _lightgbm(artifact, row.reshape(1, -1))[0]) <= 1e-6


def test_a_planted_file_without_a_manifest_entry_is_never_loaded(artifact: ModelArtifact, tmp_path: Path) -> None:
    directory = artifact.save(tmp_path / "m")
    manifest = json.loads((directory / "manifest.json").read_text())
    manifest["compiled"] = {}
    (directory / "manifest.json").write_text(json.dumps(manifest))
    (directory / COMPILED_DIR / f"{target_key()}.o").write_bytes(b"not object code")
    loaded = load_artifact(directory)  # compiled afresh from model.txt; the planted file is ignored
    assert loaded.compiled is not None
    assert loaded.compiled.sha256 == hashlib.sha256(compile_model(artifact.booster.model_to_string())).hexdigest()


def test_the_scorer_scores_with_the_compiled_model(artifact: ModelArtifact, tmp_path: Path) -> None:
    loaded = load_artifact(artifact.save(tmp_path / "m"))
    assert loaded.compiled is not None
    scorer = Scorer(FeatureEngine(), loaded)
    for i in range(50):
        payment = Payment(f"t{i}", 1_700_000_000 + 60 * i, f"c{i % 3}", f"m{i % 5}", 10.0 + 7 * i)
        verdict = scorer.score_one(payment)
        row = np.asarray([verdict.features], dtype=np.float64)
        assert abs(verdict.model_score - _lightgbm(artifact, row)[0]) <= 1e-6


def test_a_model_that_cannot_be_compiled_falls_back_to_lightgbm(
    artifact: ModelArtifact, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    directory = artifact.save(tmp_path / "m")
    shutil.rmtree(directory / COMPILED_DIR)

    def refuse(model_text: str) -> bytes:
        raise RuntimeError("this model is beyond the compiler")

    monkeypatch.setattr("finpilot.fraud._models._compiled.compile_model", refuse)
    with caplog.at_level(logging.WARNING, logger="finpilot.fraud.models"):
        loaded = load_artifact(directory)
    assert loaded.compiled is None
    assert any("uses LightGBM" in r.getMessage() for r in caplog.records)
    row = np.linspace(-1, 1, N)
    assert loaded.predict_one(row) == _lightgbm(artifact, row.reshape(1, -1))[0]
