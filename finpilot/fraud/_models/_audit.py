"""Model events in the audit ledger: a trained (or promoted) model becomes one ``fraud.model`` entry."""

from __future__ import annotations

import math
from typing import Any

from finpilot.audit import Ledger
from finpilot.audit.kinds import FRAUD_MODEL
from finpilot.fraud._models._artifact import ModelArtifact


def record_model(
    ledger: Ledger, artifact: ModelArtifact, *, actor: str = "fraud-trainer", action: str = "train"
) -> int:
    """Append a ``fraud.model`` entry for ``artifact`` (hash, training window, parameters, metrics); its index.

    The ledger is passed in, never global; ``action`` is what happened (``train``, ``promote``...).
    """
    evidence: dict[str, Any] = {
        "sha256": artifact.sha256,
        "training_window": list(artifact.training_window),
        "feature_names": list(artifact.feature_names),
        "params": dict(artifact.params),
        "metrics": {k: (v if math.isfinite(v) else None) for k, v in artifact.metrics.items()},
    }
    entry = FRAUD_MODEL.entry(
        actor=actor,
        action=action,
        subject=f"model:{artifact.version}",
        outcome="ok",
        evidence=evidence,
    )
    return ledger.append(entry)
