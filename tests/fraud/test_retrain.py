"""Retraining: acceptance 3 end to end on a live service, the promotion policy, shadow scoring."""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from finpilot.audit import Ledger, open_ledger
from finpilot.core import InputError, Settings
from finpilot.fraud import (
    DecisionPolicy,
    DriftMonitor,
    DriftThresholds,
    FeatureEngine,
    FraudService,
    ModelRegistry,
    Payment,
    RetrainPolicy,
    Scorer,
    Shift,
    Thresholds,
    generate_payments,
    iter_payments,
    load_artifact,
    load_reference,
    read_payments,
    retrain,
    window_from_table,
)
from finpilot.fraud._features._window import LabelBuffer
from finpilot.fraud._models._retrain import conclude, evaluate_challenger
from finpilot.fraud._models._shadow import ShadowScorer

DAY = 86_400
T0 = 1_522_540_800  # 2018-04-01, where generate_payments starts by default
POPULATION: dict[str, Any] = {"customers": 40, "terminals": 80, "seed": 11, "compromised_terminals_per_day": 0.3}
SHIFT = Shift(amount_scale=2.0, terminal_fraud_scale=4.0)


def _payments(first_day: int, last_day: int, shift: Shift, prefix: str) -> list[tuple[Payment, bool]]:
    """Days ``[first_day, last_day)`` of the seeded population's stream, as (payment, fraud)."""
    rows = []
    for p in iter_payments(days=last_day, shift=shift, **POPULATION):
        if p.seconds >= first_day * DAY:
            payment = Payment(f"{prefix}{p.tx_id}", T0 + p.seconds, f"c{p.customer}", f"t{p.terminal}", p.amount)
            rows.append((payment, p.fraud))
    return rows


@pytest.fixture
def ledger(tmp_path: Path) -> Iterator[Ledger]:
    """A real SQLite ledger."""
    with open_ledger(Settings(data_dir=tmp_path / "data")) as opened:
        yield opened


def _entries(ledger: Ledger, kind: str, since: int = 0) -> list[dict[str, Any]]:
    return [e for e in (ledger.entry(i).fields for i in range(since, ledger.size)) if e["kind"] == kind]


def test_acceptance_3_shifted_traffic_raises_drift_and_a_judged_challenger(tmp_path: Path, ledger: Ledger) -> None:
    # The champion: trained on 30 unshifted days, through the registry so its reference is stored.
    csv_path = tmp_path / "history.csv"
    generate_payments(csv_path, days=30, **POPULATION)
    registry = ModelRegistry(tmp_path / "models", ledger)
    policy = RetrainPolicy(holdout_days=7, min_holdout_frauds=5)
    first, _ = retrain(window_from_table(read_payments(csv_path)), registry, policy)
    assert first.verdict == "promote"
    assert registry.state().champion == first.challenger.version
    champion = registry.champion()
    reference = load_reference(registry.path_of(champion.version), champion)

    # The live service resumes where the history ends: its feature state is warm, as after a restart.
    engine = FeatureEngine()
    for payment, fraud in _payments(0, 30, Shift(), "h"):
        engine.update_and_features(payment)
        engine.observe_label(payment, fraud)
    service = FraudService(Scorer(engine, champion), DecisionPolicy(Thresholds(0.5, 0.8, 1.5)), ledger)
    alerts: list[tuple[str, dict[str, Any]]] = []
    monitor = DriftMonitor(
        reference,
        ledger,
        model_version=champion.version,
        thresholds=DriftThresholds(window=300),
        on_alert=lambda kind, evidence: alerts.append((kind, evidence)),
    )
    buffer = LabelBuffer()
    service.add_observer(monitor)
    service.add_observer(buffer)

    def run(rows: list[tuple[Payment, bool]]) -> None:
        for payment, fraud in rows:
            service.score(payment)
            service.label(payment.tx_id, fraud, "chargeback")

    before_a = ledger.size
    run(_payments(30, 36, Shift(), "a"))  # the same world: no alarm
    assert _entries(ledger, "fraud.drift", since=before_a) == []
    assert monitor.summary()["psi"] is not None
    assert not monitor.retrain_wanted

    run(_payments(36, 48, SHIFT, "b"))  # bigger amounts, four times the compromised terminals
    drift = _entries(ledger, "fraud.drift", since=before_a)
    assert sorted(e["evidence"]["signal"] for e in drift) == ["adwin", "psi"]  # one entry per signal
    psi_entry = next(e for e in drift if e["evidence"]["signal"] == "psi")
    assert psi_entry["evidence"]["model_version"] == champion.version
    assert psi_entry["evidence"]["score_psi"] >= 0.25 or psi_entry["evidence"]["inputs_drifted"]
    assert alerts
    assert alerts[0][0] == "fraud.drift"
    assert alerts[0][1]["audit_index"] is not None
    assert monitor.retrain_wanted

    # Drift asked for retraining: a challenger from the live labelled window, judged on its last days.
    window = buffer.window()
    assert len(window) == buffer.labelled > 1000
    evaluation, _ = retrain(window, registry, policy, decide=False)
    assert registry.state().challenger == evaluation.challenger.version
    shadow = ShadowScorer(load_artifact(registry.path_of(evaluation.challenger.version)), threshold=0.5)
    service.add_observer(shadow)
    run(_payments(48, 49, SHIFT, "c"))  # the challenger scores in shadow; the champion still decides
    recent = _entries(ledger, "fraud.decision", since=ledger.size - 20)
    assert {e["evidence"]["model_version"] for e in recent} == {champion.version}
    index = conclude(registry, evaluation, shadow=shadow.stats())

    verdict = ledger.entry(index).fields
    assert verdict["kind"] == "fraud.model"
    assert verdict["action"] == evaluation.verdict
    judged = verdict["evidence"]["evaluation"]
    for side in ("challenger", "champion"):
        assert set(judged[side]["metrics"]) == {"auc_roc", "average_precision", "card_precision_at_100"}
    assert judged["champion"]["version"] == champion.version
    assert judged["holdout"]["frauds"] >= 5
    assert judged["holdout"]["payments"] > 0
    assert judged["shadow"]["decisions"] > 0
    assert 0 <= judged["shadow"]["agreement"] <= 1
    if evaluation.verdict == "promote":
        assert registry.state().champion == evaluation.challenger.version
        assert registry.state().previous == (champion.version,)
    else:
        assert registry.state().champion == champion.version


def test_policy_verdicts() -> None:
    policy = RetrainPolicy(min_gain=0.01, auc_tolerance=0.02, min_holdout_frauds=10)
    better = {"auc_roc": 0.90, "average_precision": 0.70, "card_precision_at_100": 0.3}
    worse = {"auc_roc": 0.85, "average_precision": 0.60, "card_precision_at_100": 0.3}
    assert policy.judge(better, worse, frauds=50)[0] == "promote"
    verdict, reasons = policy.judge(worse, better, frauds=50)
    assert verdict == "refuse"
    assert len(reasons) == 2
    assert policy.judge(better, None, frauds=50)[0] == "promote"  # no champion yet
    verdict, reasons = policy.judge(better, worse, frauds=3)
    assert verdict == "refuse"
    assert "3 frauds" in reasons[0]
    tiny_gain = {**worse, "average_precision": 0.605}
    assert policy.judge(tiny_gain, worse, frauds=50)[0] == "refuse"  # below min_gain
    nan = {**better, "auc_roc": math.nan}
    assert policy.judge(nan, worse, frauds=50)[0] == "refuse"
    with pytest.raises(InputError) as caught:
        RetrainPolicy(holdout_days=0)
    assert caught.value.field == "holdout_days"


def test_a_window_shorter_than_the_holdout_is_refused_by_name(stream_csv: Path) -> None:
    window = window_from_table(read_payments(stream_csv), start="2018-04-01", end="2018-04-05")
    with pytest.raises(InputError) as caught:
        evaluate_challenger(window, None, RetrainPolicy(holdout_days=7))
    assert caught.value.field == "holdout_days"
    assert "shorter holdout" in str(caught.value)
    with pytest.raises(InputError) as bad_date:
        window_from_table(read_payments(stream_csv), start="2018-02-30")
    assert bad_date.value.field == "from"


def test_shadow_of_the_champion_itself_agrees_everywhere(ledger: Ledger, tiny_fraud_model: Path) -> None:
    artifact = load_artifact(tiny_fraud_model)
    service = FraudService(Scorer(FeatureEngine(), artifact), DecisionPolicy(Thresholds(0.5, 0.8, 1.5)), ledger)
    shadow = ShadowScorer(artifact, threshold=0.5)
    service.add_observer(shadow)
    rows = _payments(0, 3, Shift(), "s")
    for payment, fraud in rows:
        service.score(payment)
        service.label(payment.tx_id, fraud, "analyst")
    stats = shadow.stats()
    assert stats["decisions"] == len(rows)
    assert stats["agreement"] == 1.0
    assert stats["max_abs_diff"] == pytest.approx(0.0, abs=1e-12)
    assert stats["champion"] == stats["shadow"]
    assert stats["labels"] == len(rows)
    assert stats["frauds"] == sum(f for _, f in rows)
    with pytest.raises(InputError):
        ShadowScorer(artifact, threshold=1.5)
