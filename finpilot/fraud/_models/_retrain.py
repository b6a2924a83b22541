"""Retraining: a challenger from a recent labelled window, judged against the champion by policy.

The window comes from a payment CSV (:func:`window_from_table`, replayed from the CSV's start
through the live feature code) or from live traffic (:class:`LabelBuffer`, which keeps the
feature vector of each decision until its label arrives). The last ``holdout_days`` of the
window are a time-split holdout: the challenger trains on the days before them, and both the
challenger and the champion are scored on the holdout's feature vectors with AUC, AP and
CP@100. :class:`RetrainPolicy` turns the two sets of metrics into ``promote`` or ``refuse``.

:func:`retrain` registers the challenger (a ``register`` entry) and, unless asked to wait for
shadow scoring, concludes at once: :func:`conclude` appends the verdict, with both models'
metrics, as the registry's ``promote`` or ``refuse`` entry before the pointer moves.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from finpilot.core import InputError
from finpilot.fraud._drift import finite_or_none
from finpilot.fraud._features._engine import FEATURE_NAMES
from finpilot.fraud._features._window import LabelledWindow
from finpilot.fraud._models._artifact import DEFAULT_PARAMS, ModelArtifact, predict, train_model
from finpilot.fraud._models._registry import ModelRegistry
from finpilot.fraud._payment import DAY_S
from finpilot.fraud._reference import Reference
from finpilot.fraud._replay._stream import day_text, evaluate

METRICS = ("auc_roc", "average_precision", "card_precision_at_100")
"""The metrics both models are judged on."""

ACTOR = "fraud-retrainer"
"""Who the ledger says retrained when no actor is given."""

Verdict = Literal["promote", "refuse"]


@dataclass(frozen=True)
class RetrainPolicy:
    """When a challenger replaces the champion, and how it is trained."""

    holdout_days: int = 7
    """The last days of the window, kept out of training and used to compare the two models."""
    min_gain: float = 0.0
    """The challenger's AP must be at least the champion's plus this."""
    auc_tolerance: float = 0.01
    """The challenger's AUC may be at most this much below the champion's."""
    min_holdout_frauds: int = 10
    """Fewer frauds in the holdout than this and no comparison is trusted: refuse."""
    params: Mapping[str, Any] = field(default_factory=lambda: dict(DEFAULT_PARAMS))
    seed: int = 0

    def __post_init__(self) -> None:
        if self.holdout_days < 1:
            raise InputError("the holdout must be at least 1 day", field="holdout_days", fix="e.g. 7")
        if self.auc_tolerance < 0:
            raise InputError("auc_tolerance must be >= 0", field="auc_tolerance", fix="e.g. 0.01")
        if self.min_holdout_frauds < 1:
            raise InputError("min_holdout_frauds must be at least 1", field="min_holdout_frauds", fix="e.g. 10")

    def judge(
        self, challenger: Mapping[str, float], champion: Mapping[str, float] | None, frauds: int
    ) -> tuple[Verdict, list[str]]:
        """``promote`` or ``refuse``, with the reasons."""
        if frauds < self.min_holdout_frauds:
            return "refuse", [f"the holdout has {frauds} frauds, the policy needs {self.min_holdout_frauds}"]
        if champion is None:
            return "promote", ["there is no champion"]
        ap, auc = challenger["average_precision"], challenger["auc_roc"]
        ap0, auc0 = champion["average_precision"], champion["auc_roc"]
        if any(math.isnan(v) for v in (ap, auc, ap0, auc0)):
            return "refuse", ["a metric could not be computed on the holdout"]
        reasons = []
        if ap < ap0 + self.min_gain:
            reasons.append(f"AP {ap:.4f} is below the champion's {ap0:.4f} + {self.min_gain}")
        if auc < auc0 - self.auc_tolerance:
            reasons.append(f"AUC {auc:.4f} is more than {self.auc_tolerance} below the champion's {auc0:.4f}")
        if reasons:
            return "refuse", reasons
        return "promote", [f"AP {ap:.4f} vs {ap0:.4f}, AUC {auc:.4f} vs {auc0:.4f}"]

    def to_json(self) -> dict[str, Any]:
        """The JSON form (what the verdict entry records)."""
        return {
            "holdout_days": self.holdout_days,
            "min_gain": self.min_gain,
            "auc_tolerance": self.auc_tolerance,
            "min_holdout_frauds": self.min_holdout_frauds,
            "params": dict(self.params),
            "seed": self.seed,
        }


@dataclass(frozen=True)
class Evaluation:
    """A trained challenger, both models' holdout metrics and the policy's verdict."""

    challenger: ModelArtifact
    reference: Reference
    champion_version: str | None
    challenger_metrics: Mapping[str, float]
    champion_metrics: Mapping[str, float] | None
    holdout: Mapping[str, Any]
    verdict: Verdict
    reasons: tuple[str, ...]
    policy: RetrainPolicy

    def to_json(self) -> dict[str, Any]:
        """The JSON form (the audit entry's ``evaluation`` and the CLI's ``--json``)."""

        def clean(metrics: Mapping[str, float] | None) -> dict[str, float | None] | None:
            return None if metrics is None else {k: finite_or_none(v) for k, v in metrics.items()}

        return {
            "verdict": self.verdict,
            "reasons": list(self.reasons),
            "challenger": {"version": self.challenger.version, "metrics": clean(self.challenger_metrics)},
            "champion": {"version": self.champion_version, "metrics": clean(self.champion_metrics)},
            "holdout": dict(self.holdout),
            "training_window": list(self.challenger.training_window),
            "policy": self.policy.to_json(),
        }


def model_scores(artifact: ModelArtifact, features: npt.NDArray[np.float32]) -> npt.NDArray[np.float64]:
    columns = [FEATURE_NAMES.index(name) for name in artifact.feature_names]
    """``artifact``'s scores of full feature rows (``FEATURE_NAMES`` order)."""
    return artifact.predict_rows(features[:, columns])


def evaluate_challenger(
    window: LabelledWindow, champion: ModelArtifact | None, policy: RetrainPolicy = RetrainPolicy()
) -> Evaluation:
    """Train a challenger on the window before its holdout, score both models on the holdout, judge."""
    if len(window) == 0:
        raise InputError("the window has no labelled payments", field="window", fix="use a longer window")
    days = window.times // DAY_S
    first, last = int(days[0]), int(days[-1])
    split = last - policy.holdout_days + 1
    train = np.flatnonzero(days < split)
    test = np.flatnonzero(days >= split)
    if len(train) == 0:
        raise InputError(
            f"the window ({day_text(first)} to {day_text(last)}) leaves no days to train on "
            f"before the {policy.holdout_days}-day holdout",
            field="holdout_days",
            fix="give a longer window or a shorter holdout",
        )
    booster = train_model(window.features[train], window.labels[train], policy.params, seed=policy.seed)
    customers = [window.customers[i] for i in test.tolist()]
    labels = window.labels[test]
    challenger_scores = predict(booster, window.features[test])
    challenger_metrics = evaluate(days[test], customers, labels, challenger_scores)
    metrics = {
        "train_payments": float(len(train)),
        "holdout_payments": float(len(test)),
        **{k: float(challenger_metrics[k]) for k in METRICS},
    }
    challenger = ModelArtifact.build(
        booster, FEATURE_NAMES, (day_text(first), day_text(split - 1)), policy.params, metrics
    )
    champion_metrics = None
    if champion is not None:
        found = evaluate(days[test], customers, labels, model_scores(champion, window.features[test]))
        champion_metrics = {k: float(found[k]) for k in METRICS}
    # The reference is the holdout: the latest days, whose windowed features are warm as live ones
    # are (the window's first days see little history), scored out of sample as live payments are.
    reference = Reference.build(
        challenger, window.features[test], challenger_scores, window=(day_text(split), day_text(last))
    )
    frauds = int(labels.sum())
    verdict, reasons = policy.judge(challenger_metrics, champion_metrics, frauds)
    holdout = {"from": day_text(split), "to": day_text(last), "payments": len(test), "frauds": frauds}
    return Evaluation(
        challenger,
        reference,
        None if champion is None else champion.version,
        {k: float(challenger_metrics[k]) for k in METRICS},
        champion_metrics,
        holdout,
        verdict,
        tuple(reasons),
        policy,
    )


def conclude(
    registry: ModelRegistry,
    evaluation: Evaluation,
    *,
    shadow: Mapping[str, Any] | None = None,
    actor: str = ACTOR,
) -> int:
    """Promote or refuse the (registered) challenger as the evaluation says; the verdict entry's index.

    ``shadow`` (a :meth:`ShadowScorer.stats` result) is recorded with the verdict.
    """
    record = evaluation.to_json()
    if shadow is not None:
        record["shadow"] = dict(shadow)
    reason = "; ".join(evaluation.reasons)
    version = evaluation.challenger.version
    if evaluation.verdict == "promote":
        return registry.promote(version, actor=actor, reason=reason, evaluation=record)
    return registry.refuse(version, actor=actor, reason=reason, evaluation=record)


def retrain(
    window: LabelledWindow,
    registry: ModelRegistry,
    policy: RetrainPolicy = RetrainPolicy(),
    *,
    actor: str = ACTOR,
    decide: bool = True,
) -> tuple[Evaluation, int]:
    """Train, evaluate and register a challenger; with ``decide``, conclude at once.

    Returns the evaluation and the index of the verdict entry (of the ``register`` entry when
    ``decide`` is false: run the challenger in shadow, then call :func:`conclude`).
    """
    champion = registry.champion() if registry.state().champion is not None else None
    evaluation = evaluate_challenger(window, champion, policy)
    index = registry.register(evaluation.challenger, reference=evaluation.reference, actor=actor)
    if decide:
        index = conclude(registry, evaluation, actor=actor)
    return evaluation, index
