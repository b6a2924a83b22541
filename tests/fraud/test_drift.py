"""Drift: PSI on known distributions, ADWIN on an error-rate jump, and the monitor's single audited alert."""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from finpilot.audit import Ledger, open_ledger
from finpilot.core import InputError, IntegrityError, NotFoundError, Settings
from finpilot.fraud import (
    FEATURE_NAMES,
    DecisionPolicy,
    DriftMonitor,
    DriftThresholds,
    Payment,
    Reference,
    Thresholds,
    load_artifact,
    load_reference,
)
from finpilot.fraud._drift import adwin_errors
from finpilot.fraud._reference import ReferenceHistogram, psi
from finpilot.fraud._scorer import Score

RNG = np.random.default_rng(0)


@pytest.fixture
def ledger(tmp_path: Path) -> Iterator[Ledger]:
    """A real SQLite ledger."""
    with open_ledger(Settings(data_dir=tmp_path / "data")) as opened:
        yield opened


def test_identical_samples_have_zero_psi_and_shifted_ones_a_large_one() -> None:
    reference = RNG.normal(0, 1, 5000)
    assert psi(reference, reference) == 0.0
    same_law = psi(reference, RNG.normal(0, 1, 5000))
    assert same_law < 0.02  # sampling noise only: about bins / n
    shifted = psi(reference, RNG.normal(1, 1, 5000))
    assert shifted > 0.25  # a one-sigma shift is drift by the usual rule
    assert psi(reference, RNG.normal(3, 1, 5000)) > shifted  # further is worse


def test_psi_matches_the_formula_on_hand_made_shares() -> None:
    # Reference 50/50 over x <= 0 and x > 0; live 80/20.
    hist = ReferenceHistogram((0.0,), (0.5, 0.5, 0.0))
    live = [-1.0] * 8 + [1.0] * 2
    expected = (0.8 - 0.5) * math.log(0.8 / 0.5) + (0.2 - 0.5) * math.log(0.2 / 0.5)
    assert hist.psi(live) == pytest.approx(expected, abs=1e-3)  # the empty NaN bin adds ~eps only


def test_deciles_merge_for_discrete_features_and_nan_has_its_own_bin() -> None:
    flags = ReferenceHistogram.of([0, 0, 0, 1] * 100)
    assert flags.edges == (0.0, 1.0) or flags.edges == (0.0,)
    assert sum(flags.shares) == pytest.approx(1.0)
    with_nan = ReferenceHistogram.of([1.0, 2.0, math.nan, math.nan])
    assert with_nan.shares[-1] == pytest.approx(0.5)
    assert with_nan.psi([math.nan] * 10) > 1  # a feature going missing is drift


@given(
    st.lists(st.floats(-1e6, 1e6, allow_nan=False), min_size=1, max_size=200),
    st.lists(st.floats(-1e6, 1e6, allow_nan=False), min_size=1, max_size=200),
)
def test_psi_is_never_negative_and_zero_against_itself(reference: list[float], live: list[float]) -> None:
    assert psi(reference, live) >= 0.0
    assert psi(reference, reference) == 0.0
    assert psi(live, live) == 0.0


def test_adwin_finds_an_error_rate_jump_and_not_a_steady_rate() -> None:
    steady = (RNG.random(4000) < 0.05).astype(int)
    assert adwin_errors(steady)["drift"] is False
    jump = np.concatenate([steady[:2000], (RNG.random(2000) < 0.30).astype(int)])
    found = adwin_errors(jump)
    assert found["drift"] is True
    assert 2000 <= found["first_rise_at"] < 2300  # soon after the jump, never before it
    assert found["error_rate_after"] > found["error_rate_before"]
    falling = np.concatenate([(RNG.random(2000) < 0.30).astype(int), steady[:2000]])
    assert adwin_errors(falling)["drift"] is False  # fewer errors is not drift


def test_bad_thresholds_name_the_field() -> None:
    with pytest.raises(InputError) as caught:
        DriftThresholds(warn=0.3, drift=0.2)
    assert caught.value.field == "warn"


# --- the reference file and the monitor ------------------------------------------------------


def _reference(model: Path, features: np.ndarray[Any, Any], scores: np.ndarray[Any, Any]) -> Reference:
    return Reference.build(load_artifact(model), features, scores)


def _normal_rows(n: int, shift: float = 0.0) -> np.ndarray[Any, Any]:
    return RNG.normal(shift, 1, (n, len(FEATURE_NAMES))).astype(np.float32)


def test_reference_round_trips_and_is_bound_to_its_model(tmp_path: Path, tiny_fraud_model: Path) -> None:
    artifact = load_artifact(tiny_fraud_model)
    reference = Reference.build(artifact, _normal_rows(500), RNG.random(500))
    directory = tmp_path / "copy"
    artifact.save(directory)
    reference.save(directory)
    assert load_reference(directory, artifact) == reference
    assert load_artifact(directory).sha256 == artifact.sha256  # the manifest's hash still holds
    other = Reference("0" * 64, reference.features, reference.score, reference.size)
    other.save(directory)
    with pytest.raises(IntegrityError):
        load_reference(directory, artifact)
    with pytest.raises(NotFoundError) as missing:
        load_reference(tmp_path)
    assert "retrain" in str(missing.value)


class _Alerts:
    def __init__(self) -> None:
        self.seen: list[tuple[str, dict[str, Any]]] = []

    def __call__(self, kind: str, evidence: dict[str, Any]) -> None:
        self.seen.append((kind, evidence))


def _feed(monitor: DriftMonitor, rows: np.ndarray[Any, Any], scores: np.ndarray[Any, Any], start: int = 0) -> None:
    policy = DecisionPolicy(Thresholds(0.5, 0.8, 1.5))
    for i, (row, score) in enumerate(zip(rows.tolist(), scores.tolist(), strict=True)):
        payment = Payment(f"tx{start + i}", 1_600_000_000 + start + i, "c1", "t1", 10.0)
        verdict = Score(payment.tx_id, score, score, (), "m", row)
        monitor.on_decision(payment, verdict, policy.decide(score, (), model_version="m"), 0)


def test_monitor_stays_quiet_on_the_reference_law_and_alerts_once_on_a_shift(
    ledger: Ledger, tiny_fraud_model: Path
) -> None:
    reference = _reference(tiny_fraud_model, _normal_rows(3000), RNG.beta(1, 20, 3000))
    alerts = _Alerts()
    monitor = DriftMonitor(
        reference, ledger, model_version="m", thresholds=DriftThresholds(window=500), on_alert=alerts
    )
    _feed(monitor, _normal_rows(1000), RNG.beta(1, 20, 1000))
    assert ledger.size == 0
    assert monitor.summary()["status"] in {"ok", "warn"}
    assert not monitor.retrain_wanted

    _feed(monitor, _normal_rows(1500, shift=1.5), RNG.beta(5, 5, 1500), start=1000)  # three drifted windows
    assert ledger.size == 1  # one entry, not one per window
    entry = ledger.entry(0).fields
    assert (entry["kind"], entry["outcome"], entry["subject"]) == ("fraud.drift", "drift", "model:m")
    evidence = entry["evidence"]
    assert evidence["signal"] == "psi"
    assert evidence["score_psi"] > 0.25
    assert evidence["window"] == 500
    assert evidence["reference_size"] == 3000
    assert evidence["features"][0]["psi"] >= evidence["features"][-1]["psi"]  # the worst first
    assert [kind for kind, _ in alerts.seen] == ["fraud.drift"]
    assert alerts.seen[0][1]["audit_index"] == 0
    summary = monitor.summary()
    json.dumps(summary)  # JSON-able for the console page
    assert summary["status"] == "drift"
    assert summary["retrain_wanted"]
    assert summary["alerts"] == {"psi": 0}

    monitor.reset(reference, "m2")
    assert not monitor.retrain_wanted
    assert monitor.summary()["model_version"] == "m2"


def test_monitor_feeds_adwin_from_labels(ledger: Ledger, tiny_fraud_model: Path) -> None:
    reference = _reference(tiny_fraud_model, _normal_rows(1000), RNG.beta(1, 20, 1000))
    alerts = _Alerts()
    monitor = DriftMonitor(reference, ledger, model_version="m", on_alert=alerts)
    n = 4000
    rows, scores = _normal_rows(n), RNG.beta(1, 20, n)  # the reference law, all approved (scores < 0.5)
    _feed(monitor, rows, scores)
    fraud = np.concatenate([RNG.random(2000) < 0.02, RNG.random(2000) < 0.3])  # frauds start slipping through
    for i in range(n):
        monitor.on_label(Payment(f"tx{i}", 1_600_000_000 + i, "c1", "t1", 10.0), bool(fraud[i]), "chargeback", 0)
    monitor.on_label(Payment("unknown", 1, "c1", "t1", 1.0), True, "chargeback", 0)  # not scored here: ignored
    entries = [ledger.entry(i).fields for i in range(ledger.size)]
    adwin = [e for e in entries if e["evidence"]["signal"] == "adwin"]
    assert len(adwin) == 1
    assert adwin[0]["evidence"]["error_rate"] > adwin[0]["evidence"]["error_rate_before"]
    assert monitor.summary()["adwin"]["labels"] == n
    assert "adwin" in monitor.summary()["alerts"]


def test_decisions_without_features_check_the_score_alone(ledger: Ledger, tiny_fraud_model: Path) -> None:
    # Decisions a scorer process made reach the console's monitor from the ledger, without features.
    reference = _reference(tiny_fraud_model, _normal_rows(3000), RNG.beta(1, 20, 3000))
    alerts = _Alerts()
    monitor = DriftMonitor(
        reference, ledger, model_version="m", thresholds=DriftThresholds(window=500), on_alert=alerts
    )
    _feed(monitor, np.empty((500, 0)), RNG.beta(1, 20, 500))
    checked = monitor.summary()["psi"]
    assert checked["window"] == 500
    assert (checked["features"], checked["inputs_drifted"]) == ([], None)  # inputs not checked, not "fine"
    assert ledger.size == 0
    _feed(monitor, np.empty((500, 0)), RNG.beta(5, 5, 500), start=500)  # the score's law moved
    (entry,) = [ledger.entry(i).fields for i in range(ledger.size)]
    assert entry["evidence"]["score_psi"] > 0.25
    assert [kind for kind, _ in alerts.seen] == ["fraud.drift"]
    # Labels still feed the error-rate monitor: the decision (flagged or not) is in the entry.
    monitor.on_label(Payment("tx0", 1_600_000_000, "c1", "t1", 10.0), True, "chargeback", 0)
    assert monitor.summary()["adwin"]["labels"] == 1
