"""Gradient-boosted models and their versioned artifacts.

An artifact is a directory with ``model.txt``, LightGBM's own text format (no pickle, so
loading one runs no code from the file), ``manifest.json``, which holds the model's sha256,
feature names, training window, parameters and metrics, and ``compiled/<target>.o``, the model
compiled to native code for one kind of CPU (see ``_compiled``), whose sha256 the manifest
also holds. :func:`load_artifact` refuses a model or compiled file whose bytes do not match
the manifest's hash (:class:`IntegrityError`).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from finpilot.core import InputError, IntegrityError, NotFoundError, private_file
from finpilot.fraud._models._compiled import CompiledModel, compile_or_none, load_compiled, write_compiled

if TYPE_CHECKING:
    # LightGBM pulls in scikit-learn: seconds of import time that every CLI command would pay.
    # It is imported where a model is trained or loaded.
    import lightgbm as lgb

DEFAULT_PARAMS: Mapping[str, Any] = {
    "num_leaves": 31,
    "learning_rate": 0.05,
    "num_iterations": 300,
    "min_data_in_leaf": 50,
    "feature_fraction": 0.8,
}
"""Parameters used when no model selection has run (the prequential protocol)."""

_FINE_BINS: Mapping[str, Any] = {
    "num_leaves": 63,
    "learning_rate": 0.03,
    "num_iterations": 500,
    "min_data_in_leaf": 20,
    "feature_fraction": 0.7,
    "max_bin": 4095,
}

PARAM_GRID: tuple[Mapping[str, Any], ...] = (
    {"num_leaves": 15, "learning_rate": 0.05, "num_iterations": 300, "min_data_in_leaf": 50, "feature_fraction": 0.8},
    {"num_leaves": 31, "learning_rate": 0.05, "num_iterations": 300, "min_data_in_leaf": 20, "feature_fraction": 0.8},
    {"num_leaves": 63, "learning_rate": 0.03, "num_iterations": 500, "min_data_in_leaf": 100, "feature_fraction": 0.7},
    {"num_leaves": 7, "learning_rate": 0.1, "num_iterations": 200, "min_data_in_leaf": 20, "feature_fraction": 1.0},
    # Finer amount bins: with the default 255, the top bin of a week's amounts spans tens of units,
    # so no split can isolate a sharp amount threshold.
    {**_FINE_BINS, "min_data_in_leaf": 100, "max_bin": 1023},
    _FINE_BINS,
    # Row bagging: a week holds only a few hundred frauds, so each tree seeing 80 % of the rows
    # lowers the variance of what it learns from them (+0.003 AP on the validation folds).
    {**_FINE_BINS, "bagging_fraction": 0.8, "bagging_freq": 1},
)
"""The candidates the handbook protocol's model selection chooses from (on validation folds only)."""

_FIXED = {"objective": "binary", "verbose": -1, "deterministic": True, "force_row_wise": True, "num_threads": 1}

MODEL_FILE = "model.txt"
MANIFEST_FILE = "manifest.json"


def train_model(
    features: npt.NDArray[np.float32], labels: npt.NDArray[np.int8], params: Mapping[str, Any], *, seed: int = 0
) -> lgb.Booster:
    """Train a LightGBM binary classifier; deterministic for a given ``seed``."""
    if features.shape[0] == 0:
        raise InputError("no labelled payments to train on", field="training window", fix="use a longer stream")
    full = {**_FIXED, **params, "seed": seed}
    import lightgbm as lgb

    data = lgb.Dataset(features, label=labels, params={"verbose": -1}, free_raw_data=True)
    return lgb.train(full, data)


def predict(booster: lgb.Booster, features: npt.NDArray[np.float32]) -> npt.NDArray[np.float64]:
    """Fraud probabilities for the rows of ``features``."""
    if features.shape[0] == 0:
        return np.zeros(0)
    return np.asarray(booster.predict(features, num_threads=1), dtype=np.float64)


@dataclass(frozen=True)
class ModelArtifact:
    """A trained model with what is needed to trust and reuse it."""

    booster: lgb.Booster
    feature_names: tuple[str, ...]
    sha256: str
    training_window: tuple[str, str]
    params: Mapping[str, Any] = field(default_factory=dict)
    metrics: Mapping[str, float] = field(default_factory=dict)
    compiled: CompiledModel | None = field(default=None, compare=False, repr=False)
    """The model as native code for this host (None: not compiled yet, or it could not be)."""

    def predict_one(self, row: npt.NDArray[np.float64]) -> float:
        """The score of one row (float64, the model's feature order): compiled code, else LightGBM."""
        if self.compiled is not None:
            return self.compiled.predict_one(row)
        return float(self.booster.predict(row.reshape(1, -1), num_threads=1)[0])

    def predict_rows(self, rows: npt.NDArray[Any]) -> npt.NDArray[np.float64]:
        """Scores of many rows (the model's feature order): compiled code, else LightGBM; the same scores.

        The compiled model is also the faster one in batches (bench/fraud/bench_model_call.py).
        """
        if self.compiled is not None:
            return self.compiled.predict(rows)
        return predict(self.booster, rows)

    @property
    def version(self) -> str:
        """A short, content-derived version: the first 12 hex digits of the model's hash."""
        return self.sha256[:12]

    @classmethod
    def build(
        cls,
        booster: lgb.Booster,
        feature_names: Sequence[str],
        training_window: tuple[str, str],
        params: Mapping[str, Any],
        metrics: Mapping[str, float] | None = None,
    ) -> ModelArtifact:
        """Wrap a freshly trained booster, hashing its text form."""
        text = booster.model_to_string().encode()
        return cls(
            booster,
            tuple(feature_names),
            hashlib.sha256(text).hexdigest(),
            training_window,
            dict(params),
            dict(metrics or {}),
        )

    def save(self, directory: Path) -> Path:
        """Write ``model.txt``, the compiled form and ``manifest.json`` into ``directory`` (created if needed).

        The model is compiled here (once per artifact object), when it is written, so that
        loading it never compiles and a request never waits for a compiler.
        """
        directory.mkdir(parents=True, exist_ok=True)
        text = self.booster.model_to_string().encode()
        private_file(directory / MODEL_FILE).write_bytes(text)
        if self.compiled is None:
            # Frozen for its model, not for this cache: the compiled form is derived from the model.
            compiled = compile_or_none(text.decode(), self.booster.num_feature(), why=f"saving {directory}")
            object.__setattr__(self, "compiled", compiled)
        manifest = {
            "format": "lightgbm-text",
            "sha256": hashlib.sha256(text).hexdigest(),
            "feature_names": list(self.feature_names),
            "training_window": list(self.training_window),
            "params": dict(self.params),
            "metrics": dict(self.metrics),
            "compiled": write_compiled(directory, self.compiled) if self.compiled is not None else {},
        }
        private_file(directory / MANIFEST_FILE).write_text(json.dumps(manifest, indent=2, sort_keys=True))
        return directory


def load_artifact(directory: Path) -> ModelArtifact:
    """Load an artifact written by :meth:`ModelArtifact.save`, verifying the model's sha256 first.

    The compiled form for this host is loaded after its own sha256 is checked; an artifact
    without one (written before compiled forms existed, or on another CPU) is compiled at load.
    """
    try:
        manifest = json.loads((directory / MANIFEST_FILE).read_text())
        text = (directory / MODEL_FILE).read_bytes()
    except FileNotFoundError as exc:
        raise NotFoundError(f"model artifact incomplete: {exc.filename} is missing", field="artifact") from exc
    except ValueError as exc:
        raise InputError(f"{directory / MANIFEST_FILE} is not valid JSON: {exc}", field="manifest") from exc
    digest = hashlib.sha256(text).hexdigest()
    if digest != manifest.get("sha256"):
        raise IntegrityError(
            f"model file {directory / MODEL_FILE} has sha256 {digest}, the manifest says {manifest.get('sha256')}",
            field="sha256",
            fix="the model was changed after it was trained: retrain or restore the original artifact",
        )
    import lightgbm as lgb

    booster = lgb.Booster(model_str=text.decode())
    window = manifest.get("training_window") or ["", ""]
    names = tuple(manifest["feature_names"])
    return ModelArtifact(
        booster,
        names,
        digest,
        (str(window[0]), str(window[1])),
        manifest.get("params", {}),
        manifest.get("metrics", {}),
        load_compiled(directory, manifest, text.decode(), booster.num_feature()),
    )
