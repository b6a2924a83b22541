"""A real drift monitor with real drift in it, for the Fraud page's tests (in-process and in the browser)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from finpilot.audit import Ledger
from finpilot.fraud import (
    FEATURE_NAMES,
    DecisionPolicy,
    DriftMonitor,
    DriftThresholds,
    Payment,
    Reference,
    Thresholds,
    load_artifact,
)
from finpilot.fraud._scorer import Score

WINDOW = 500
"""Decisions per PSI check in :func:`drifted_monitor`."""
SHIFTED = {"amount": 2.0, "cust_nb_tx_1d": 0.4}
"""Features moved away from the reference law (in standard deviations): far, and a little."""
LABELLED = 120
"""How many of the decisions get a label (all of them genuine)."""


def drifted_monitor(ledger: Ledger, model_dir: Path, *, seed: int = 3, featureless: bool = False) -> DriftMonitor:
    """A monitor whose reference is N(0, 1) features and Beta(1, 20) scores, fed one window in which
    ``amount`` moved far, ``cust_nb_tx_1d`` a little and the scores a lot; then some labels.

    Its one PSI check writes a ``fraud.drift`` entry to ``ledger``. ``featureless``: the decisions
    come without their vectors, as those a scorer process made reach the console's monitor.
    """
    rng = np.random.default_rng(seed)
    width = len(FEATURE_NAMES)
    reference = Reference.build(
        load_artifact(model_dir), rng.normal(0, 1, (5000, width)).astype(np.float32), rng.beta(1, 20, 5000)
    )
    monitor = DriftMonitor(reference, ledger, model_version="m-drift", thresholds=DriftThresholds(window=WINDOW))
    rows = rng.normal(0, 1, (WINDOW, width))
    for name, shift in SHIFTED.items():
        rows[:, FEATURE_NAMES.index(name)] += shift
    scores = rng.beta(2, 10, WINDOW)
    policy = DecisionPolicy(Thresholds(0.5, 0.8, 1.5))
    for i, (row, score) in enumerate(zip(rows.tolist(), scores.tolist(), strict=True)):
        payment = Payment(f"drift-tx{i}", 1_600_000_000 + i, "c1", "t1", 10.0)
        verdict = Score(payment.tx_id, score, score, (), "m-drift", () if featureless else row)
        monitor.on_decision(payment, verdict, policy.decide(score, (), model_version="m-drift"), 0)
    for i in range(LABELLED):
        monitor.on_label(Payment(f"drift-tx{i}", 1_600_000_000 + i, "c1", "t1", 10.0), False, "chargeback", 0)
    return monitor
