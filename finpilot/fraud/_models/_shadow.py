"""Shadow scoring: a challenger scores live traffic beside the champion and never decides.

A :class:`ShadowScorer` is a :class:`~finpilot.fraud._serving._service.DecisionObserver`: it scores the very
feature vector the champion saw (so no feature state is updated twice), and counts how often
the two models agree at the review threshold, how far their scores lie apart and, as labels
arrive, how many frauds each would have flagged. :func:`~finpilot.fraud._models._retrain.conclude` records the
stats with the verdict.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any

import numpy as np

from finpilot.core import InputError
from finpilot.fraud._features._engine import FEATURE_NAMES
from finpilot.fraud._models._artifact import ModelArtifact
from finpilot.fraud._payment import Payment
from finpilot.fraud._policy import FraudDecision
from finpilot.fraud._scorer import Score


class ShadowScorer:
    """Scores every decided payment with ``artifact``; keeps agreement and score stats (thread-safe)."""

    def __init__(self, artifact: ModelArtifact, *, threshold: float = 0.5, remember: int = 100_000) -> None:
        if not 0 <= threshold <= 1:
            raise InputError("the threshold must be between 0 and 1", field="threshold", fix="use the review threshold")
        unknown = sorted(set(artifact.feature_names) - set(FEATURE_NAMES))
        if unknown:
            raise InputError(f"the shadow model uses unknown features: {', '.join(unknown)}", field="feature_names")
        self.artifact = artifact
        self.threshold = threshold
        self._columns = [FEATURE_NAMES.index(name) for name in artifact.feature_names]
        self._remember = remember
        self._lock = threading.Lock()
        self._scores: OrderedDict[str, tuple[bool, bool]] = OrderedDict()  # tx -> (champion, shadow) flagged
        self._n = 0
        self._agree = 0
        self._flagged = [0, 0]
        self._sum = [0.0, 0.0]
        self._abs_diff = 0.0
        self._max_diff = 0.0
        self._labels = 0
        self._frauds = 0
        self._caught = [0, 0]
        self._false_alarms = [0, 0]

    def score(self, features: list[float] | tuple[float, ...]) -> float:
        """The shadow model's score of one full feature vector (``FEATURE_NAMES`` order)."""
        row = np.asarray([features[i] for i in self._columns], dtype=np.float64)
        return self.artifact.predict_one(row)

    def on_decision(self, payment: Payment, verdict: Score, decision: FraudDecision, audit_index: int) -> None:
        """Score the payment in shadow and compare with the champion's model score.

        A decision without its feature vector (read back from the ledger) cannot be scored in shadow: skipped.
        """
        if len(verdict.features) == 0:
            return
        shadow = self.score(list(verdict.features))
        champion = verdict.model_score
        flags = (champion >= self.threshold, shadow >= self.threshold)
        with self._lock:
            self._n += 1
            self._agree += flags[0] == flags[1]
            for i, (flag, value) in enumerate(zip(flags, (champion, shadow), strict=True)):
                self._flagged[i] += flag
                self._sum[i] += value
            diff = abs(shadow - champion)
            self._abs_diff += diff
            self._max_diff = max(self._max_diff, diff)
            self._scores[payment.tx_id] = flags
            while len(self._scores) > self._remember:
                self._scores.popitem(last=False)

    def on_label(self, payment: Payment, fraud: bool, source: str, audit_index: int) -> None:
        """Count what each model would have caught or raised in vain."""
        with self._lock:
            flags = self._scores.get(payment.tx_id)
            if flags is None:
                return
            self._labels += 1
            self._frauds += fraud
            for i, flag in enumerate(flags):
                if flag and fraud:
                    self._caught[i] += 1
                elif flag:
                    self._false_alarms[i] += 1

    def on_account(self, customer_id: str, action: str, reason: str, audit_index: int) -> None:
        """Account changes are not scored."""

    def stats(self) -> dict[str, Any]:
        """Agreement and score stats so far (JSON-able)."""
        with self._lock:
            n = self._n
            per_model = {
                name: {
                    "flagged": self._flagged[i],
                    "mean_score": round(self._sum[i] / n, 6) if n else None,
                    "frauds_caught": self._caught[i],
                    "false_alarms": self._false_alarms[i],
                }
                for i, name in enumerate(("champion", "shadow"))
            }
            return {
                "shadow_version": self.artifact.version,
                "threshold": self.threshold,
                "decisions": n,
                "agreement": round(self._agree / n, 6) if n else None,
                "mean_abs_diff": round(self._abs_diff / n, 6) if n else None,
                "max_abs_diff": round(self._max_diff, 6),
                "labels": self._labels,
                "frauds": self._frauds,
                **per_model,
            }
