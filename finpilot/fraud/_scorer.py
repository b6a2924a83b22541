"""The live path: one payment in, its features updated, a score and reasons out."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from finpilot.core import InputError
from finpilot.fraud._features._engine import FEATURE_NAMES, FeatureEngine
from finpilot.fraud._models._artifact import ModelArtifact
from finpilot.fraud._payment import Payment
from finpilot.fraud._rules import Rules


@dataclass(frozen=True)
class Score:
    """The verdict on one payment: probability-like score, rule reasons and the model version."""

    tx_id: str
    score: float
    model_score: float
    reasons: tuple[str, ...]
    model_version: str
    features: Sequence[float] = ()
    """The full feature vector (in ``FEATURE_NAMES`` order) the payment was scored on."""


class Scorer:
    """Features, model and rules together; the same code scores a replay and live traffic."""

    def __init__(self, engine: FeatureEngine, artifact: ModelArtifact, rules: Rules | None = None) -> None:
        unknown = sorted(set(artifact.feature_names) - set(FEATURE_NAMES))
        if unknown:
            raise InputError(
                f"the model uses features this engine does not compute: {', '.join(unknown)}",
                field="feature_names",
                fix="retrain the model with this version of finpilot",
            )
        self.engine = engine
        self.artifact = artifact
        self.rules = rules or Rules()
        self._columns = [FEATURE_NAMES.index(name) for name in artifact.feature_names]

    def score_one(self, payment: Payment) -> Score:
        """Update the windows with ``payment`` and score it."""
        vector = self.engine.update_and_features(payment)
        row = np.asarray([vector[i] for i in self._columns], dtype=np.float64)
        model_score = self.artifact.predict_one(row)
        score, reasons = self.rules.apply(model_score, vector)
        return Score(payment.tx_id, score, model_score, reasons, self.artifact.version, vector)
