"""Drift: PSI of the model's inputs and scores against its reference, ADWIN on the error stream.

PSI and the reference histograms are in :mod:`finpilot.fraud._reference`. Once labels arrive,
the monitor feeds ADWIN (:class:`river.drift.ADWIN`) one error per label: 1 when the decision
(flagged or approved) disagreed with the label. ADWIN detects a change in the error rate's
mean; only a rise counts as drift.
"""

from __future__ import annotations

import math
import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from finpilot.audit import Ledger
from finpilot.audit.kinds import FRAUD_DRIFT
from finpilot.core import InputError
from finpilot.fraud._features._engine import FEATURE_NAMES
from finpilot.fraud._features._window import LabelledWindow
from finpilot.fraud._models._artifact import ModelArtifact, predict
from finpilot.fraud._payment import Payment
from finpilot.fraud._policy import FraudDecision
from finpilot.fraud._reference import Reference
from finpilot.fraud._scorer import Score

PSI_WARN = 0.1
"""PSI at or above this is worth a look."""
PSI_DRIFT = 0.25
"""PSI at or above this is drift."""

ACTOR = "fraud-drift"
"""Who the ledger says detected drift."""

AlertCallback = Callable[[str, dict[str, Any]], None]
"""``on_alert(kind, evidence)``: told once per detected drift (kind ``"fraud.drift"``)."""


class ErrorRate:
    """ADWIN over a stream of errors (1 = wrong, 0 = right), reporting only rises of the rate."""

    def __init__(self, delta: float) -> None:
        from river.drift import ADWIN  # river is slow to import; only a running monitor needs it

        self._adwin = ADWIN(delta=delta)  # type: ignore[no-untyped-call]  # river has no type hints

    def add(self, error: float) -> bool:
        """Feed one error; whether ADWIN just detected a change that raised the rate."""
        before = self.estimation
        self._adwin.update(error)  # type: ignore[no-untyped-call]
        return bool(self._adwin.drift_detected) and self.estimation > before

    @property
    def estimation(self) -> float:
        """The current error rate (the mean of ADWIN's window)."""
        return float(self._adwin.estimation)

    @property
    def width(self) -> int:
        """How many errors ADWIN's window holds."""
        return int(self._adwin.width)

    @property
    def detections(self) -> int:
        """Changes detected so far (rises and falls)."""
        return int(self._adwin.n_detections)


@dataclass(frozen=True)
class DriftThresholds:
    """Where PSI starts to warn and to mean drift, and how much data a verdict needs."""

    warn: float = PSI_WARN
    drift: float = PSI_DRIFT
    window: int = 2000
    """Decisions per PSI check (tumbling windows)."""
    min_labels: int = 30
    """Labels ADWIN must have seen before a detected rise counts."""
    adwin_delta: float = 0.002
    """ADWIN's confidence parameter (smaller: fewer false alarms, slower detection)."""
    feature_share: float = 0.25
    """Input drift needs at least this share of the model's features at or above ``drift``.

    Some features drift on their own as history accumulates (30-day counts in a young stream),
    so one drifted feature is reported but is not yet a model-level alarm; the score's PSI is.
    """

    def __post_init__(self) -> None:
        if not 0 < self.warn <= self.drift:
            raise InputError("PSI thresholds must satisfy 0 < warn <= drift", field="warn", fix="e.g. 0.1 and 0.25")
        if self.window < 10:
            raise InputError("the PSI window must hold at least 10 decisions", field="window")
        if not 0 < self.feature_share <= 1:
            raise InputError("feature_share must be in (0, 1]", field="feature_share", fix="e.g. 0.25")
        if not 0 < self.adwin_delta < 1:
            raise InputError("adwin_delta must be between 0 and 1", field="adwin_delta", fix="e.g. 0.002")


def _level(value: float, thresholds: DriftThresholds) -> str:
    return "drift" if value >= thresholds.drift else "warn" if value >= thresholds.warn else "ok"


def psi_report(
    reference: Reference,
    features: npt.NDArray[np.floating[Any]] | None,
    scores: npt.ArrayLike,
    thresholds: DriftThresholds = DriftThresholds(),
    *,
    top: int | None = None,
) -> dict[str, Any]:
    """PSI of a live sample (rows in ``FEATURE_NAMES`` order, and their scores) against ``reference``.

    ``features`` holds the highest PSIs first (``top`` of them, all by default). ``status`` is
    ``drift`` when the score's PSI is at ``thresholds.drift`` or a ``thresholds.feature_share`` of
    the features are; ``warn`` when the score or any feature is at ``thresholds.warn`` or above.
    With ``features=None`` (decisions whose vectors are not known) only the score is checked:
    ``features`` is empty and ``inputs_drifted`` is None.
    """
    per_feature: dict[str, float] = (
        {}
        if features is None
        else {name: hist.psi(features[:, FEATURE_NAMES.index(name)]) for name, hist in reference.features.items()}
    )
    ranked = sorted(per_feature.items(), key=lambda kv: -kv[1])
    score_psi = reference.score.psi(scores)
    drifted = [n for n, v in ranked if v >= thresholds.drift]
    levels = [_level(score_psi, thresholds), *(_level(v, thresholds) for v in per_feature.values())]
    inputs_drifted = len(drifted) >= thresholds.feature_share * max(1, len(per_feature))
    if score_psi >= thresholds.drift or inputs_drifted:
        status = "drift"
    else:
        status = "warn" if "warn" in levels or "drift" in levels else "ok"
    return {
        "status": status,
        "score_psi": round(score_psi, 6),
        "features": [{"name": n, "psi": round(v, 6), "level": _level(v, thresholds)} for n, v in ranked[:top]],
        "drifted_features": drifted,
        "inputs_drifted": inputs_drifted if features is not None else None,
        "window": int(np.asarray(scores).shape[0]),
        "reference_size": reference.size,
    }


class DriftMonitor:
    """A :class:`~finpilot.fraud._serving._service.DecisionObserver` that checks PSI every
    ``thresholds.window`` decisions and feeds ADWIN with each label's error.

    The first time a signal (``psi`` or ``adwin``) finds drift, one ``fraud.drift`` entry goes to
    the ledger, ``on_alert("fraud.drift", evidence)`` is called and :attr:`retrain_wanted` turns
    true; the signal stays quiet until :meth:`reset` (after a new model is promoted). The
    monitor never retrains by itself: whoever owns the service reads the flag or the alert and
    schedules :func:`~finpilot.fraud.retrain` off the payment path.
    """

    def __init__(
        self,
        reference: Reference,
        ledger: Ledger,
        *,
        model_version: str,
        thresholds: DriftThresholds = DriftThresholds(),
        on_alert: AlertCallback | None = None,
        top: int = 5,
        remember: int = 100_000,
    ) -> None:
        self.ledger = ledger
        self.thresholds = thresholds
        self.on_alert = on_alert
        self._top = top
        self._remember = remember
        self._lock = threading.Lock()
        self._reset(reference, model_version)

    def _reset(self, reference: Reference, model_version: str) -> None:
        self.reference = reference
        self.model_version = model_version
        self._rows: list[Sequence[float]] = []
        self._scores: list[float] = []
        self._flagged: OrderedDict[str, bool] = OrderedDict()
        self._adwin = ErrorRate(self.thresholds.adwin_delta)
        self._labels = 0
        self._errors = 0
        self._last_psi: dict[str, Any] | None = None
        self._alerted: dict[str, int] = {}  # signal -> audit index of its drift entry
        self._decisions = 0

    def reset(self, reference: Reference, model_version: str) -> None:
        """Start over against a new model's reference (after a promotion or rollback)."""
        with self._lock:
            self._reset(reference, model_version)

    @property
    def retrain_wanted(self) -> bool:
        """Whether drift was detected since the last :meth:`reset`."""
        with self._lock:
            return bool(self._alerted)

    def on_decision(self, payment: Payment, verdict: Score, decision: FraudDecision, audit_index: int) -> None:
        """Add the payment's features and score to the window; check PSI when the window is full.

        A decision without its feature vector (one a scorer process made, read back from the
        ledger) adds its score only; a window holding one checks the score's PSI alone.
        """
        report = None
        with self._lock:
            self._decisions += 1
            if len(verdict.features):
                self._rows.append(verdict.features)
            self._scores.append(verdict.model_score)
            self._flagged[payment.tx_id] = decision.action != "approve"
            while len(self._flagged) > self._remember:
                self._flagged.popitem(last=False)
            if len(self._scores) >= self.thresholds.window:
                report = self._check_psi()
        if report is not None:
            self._raise("psi", report)

    def _check_psi(self) -> dict[str, Any] | None:
        # Called with the lock held; the full window is consumed. Feature PSI of part of a window
        # would compare a biased sample (the console's own calls) with the reference: all or none.
        full = len(self._rows) == len(self._scores)
        features = np.asarray(self._rows, dtype=np.float64) if full else None
        scores = np.asarray(self._scores, dtype=np.float64)
        self._rows, self._scores = [], []
        report = psi_report(self.reference, features, scores, self.thresholds, top=self._top)
        self._last_psi = report
        if report["status"] != "drift" or "psi" in self._alerted:
            return None
        self._alerted["psi"] = -1  # claimed under the lock; the index follows the append
        return report

    def on_label(self, payment: Payment, fraud: bool, source: str, audit_index: int) -> None:
        """Feed ADWIN whether the decision on this payment was wrong."""
        evidence = None
        with self._lock:
            flagged = self._flagged.get(payment.tx_id)
            if flagged is None:
                return
            error = int(flagged != fraud)
            self._labels += 1
            self._errors += error
            before = self._adwin.estimation
            rose = self._adwin.add(error)
            if rose and self._labels >= self.thresholds.min_labels and "adwin" not in self._alerted:
                self._alerted["adwin"] = -1
                evidence = {**self._adwin_state(), "error_rate_before": round(before, 6)}
        if evidence is not None:
            self._raise("adwin", evidence)

    def on_account(self, customer_id: str, action: str, reason: str, audit_index: int) -> None:
        """Account changes say nothing about drift."""

    def _adwin_state(self) -> dict[str, Any]:
        return {
            "labels": self._labels,
            "errors": self._errors,
            "error_rate": round(self._adwin.estimation, 6),
            "adwin_width": self._adwin.width,
            "adwin_detections": self._adwin.detections,
            "adwin_delta": self.thresholds.adwin_delta,
        }

    def _raise(self, signal: str, found: dict[str, Any]) -> None:
        evidence: dict[str, Any] = {
            "reference_size": self.reference.size,
            "thresholds": {"warn": self.thresholds.warn, "drift": self.thresholds.drift},
            **found,
        }
        index = record_drift(self.ledger, signal=signal, model_version=self.model_version, evidence=evidence)
        with self._lock:
            self._alerted[signal] = index
        if self.on_alert is not None:
            self.on_alert(
                FRAUD_DRIFT.name,
                {"signal": signal, "model_version": self.model_version, **evidence, "audit_index": index},
            )

    def summary(self) -> dict[str, Any]:
        """The monitor's state for a console page (JSON-able)."""
        with self._lock:
            last = self._last_psi
            status = "drift" if self._alerted else (last["status"] if last else "ok")
            return {
                "status": status,
                "model_version": self.model_version,
                "decisions": self._decisions,
                "window": self.thresholds.window,
                "filling": len(self._scores),
                "psi": last,
                "adwin": self._adwin_state(),
                "alerts": dict(self._alerted),
                "retrain_wanted": bool(self._alerted),
            }


def record_drift(
    ledger: Ledger, *, signal: str, model_version: str, evidence: Mapping[str, Any], actor: str = ACTOR
) -> int:
    """Append one ``fraud.drift`` entry (``signal``: ``psi``, ``adwin`` or both joined by ``+``); its index."""
    entry = FRAUD_DRIFT.entry(
        actor=actor,
        action="detect",
        subject=f"model:{model_version}",
        outcome="drift",
        evidence={"signal": signal, "model_version": model_version, **evidence},
    )
    return ledger.append(entry)


def adwin_errors(
    errors: npt.ArrayLike, delta: float = DriftThresholds().adwin_delta, min_labels: int = 30
) -> dict[str, Any]:
    """Run ADWIN over an error stream (1 = wrong decision) in order; where the error rate first rose, if it did."""
    detector = ErrorRate(delta)
    first_rise: int | None = None
    rate_before = rate_after = None
    values = np.asarray(errors, dtype=np.float64).tolist()
    for i, error in enumerate(values):
        before = detector.estimation
        if detector.add(error) and first_rise is None and i + 1 >= min_labels:
            first_rise, rate_before, rate_after = i, before, detector.estimation
    return {
        "drift": first_rise is not None,
        "labels": len(values),
        "errors": int(sum(values)),
        "error_rate": round(float(np.mean(values)), 6) if values else None,
        "first_rise_at": first_rise,
        "error_rate_before": None if rate_before is None else round(rate_before, 6),
        "error_rate_after": None if rate_after is None else round(rate_after, 6),
        "adwin_detections": detector.detections,
        "adwin_delta": delta,
    }


def drift_report(
    window: LabelledWindow,
    artifact: ModelArtifact,
    reference: Reference,
    thresholds: DriftThresholds = DriftThresholds(),
    *,
    flag_threshold: float = 0.5,
    top: int | None = 10,
) -> dict[str, Any]:
    """PSI of a labelled window against ``artifact``'s reference, and ADWIN over its decision errors.

    A payment counts as flagged when the model scores it at ``flag_threshold`` or above; its
    error is 1 when that disagrees with its label. ``status`` is ``drift`` when either signal
    says so (``signals`` names which).
    """
    columns = [FEATURE_NAMES.index(name) for name in artifact.feature_names]
    features = window.features.astype(np.float64)
    scores = predict(artifact.booster, window.features[:, columns])
    report = psi_report(reference, features, scores, thresholds, top=top)
    errors = (scores >= flag_threshold).astype(np.int8) != window.labels
    adwin = adwin_errors(errors, thresholds.adwin_delta, thresholds.min_labels)
    signals = [s for s, hit in (("psi", report["status"] == "drift"), ("adwin", adwin["drift"])) if hit]
    status = "drift" if signals else report["status"]
    return {"status": status, "signals": signals, "model_version": artifact.version, "psi": report, "adwin": adwin}


def finite_or_none(value: float) -> float | None:
    """``value``, or None for NaN and infinities (JSON and the ledger take no NaN)."""
    return value if math.isfinite(value) else None
