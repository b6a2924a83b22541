"""The fraud service: every decision, freeze and label is in the audit ledger, with evidence and never a PAN."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from finpilot.audit import Ledger, open_ledger
from finpilot.core import FraudSettings, InputError, NotFoundError, SensitiveDataError, Settings
from finpilot.fraud import (
    FEATURE_NAMES,
    MAX_AMOUNT,
    DecisionPolicy,
    FeatureEngine,
    FraudService,
    Payment,
    Scorer,
    Thresholds,
    label_from_json,
    load_artifact,
    payment_from_json,
)

T0 = 1_600_000_000  # 2020-09-13T12:26:40Z
PAN = "4111111111111111"


@pytest.fixture
def ledger(tmp_path: Path) -> Iterator[Ledger]:
    """A real SQLite ledger."""
    with open_ledger(Settings(data_dir=tmp_path / "data")) as opened:
        yield opened


def make_service(ledger: Ledger, model: Path, **thresholds: float) -> FraudService:
    """A service over a fresh engine; thresholds default to review 0.5, decline 0.8, never freeze."""
    limits = {"review": 0.5, "decline": 0.8, "freeze": 1.5, **thresholds}
    return FraudService(Scorer(FeatureEngine(), load_artifact(model)), DecisionPolicy(Thresholds(**limits)), ledger)


@pytest.fixture
def service(ledger: Ledger, tiny_fraud_model: Path) -> FraudService:
    """The service with the tiny model."""
    return make_service(ledger, tiny_fraud_model)


def history(service: FraudService, customer: str = "c1", n: int = 5) -> None:
    """A few ordinary payments, so the customer has a history to differ from."""
    for i in range(n):
        decision, _ = service.score(Payment(f"{customer}-h{i}", T0 + i * 3600, customer, "t1", 30.0))
        assert decision.action == "approve"


def fields(ledger: Ledger, index: int) -> dict[str, Any]:
    """The stored fields of one entry."""
    return ledger.entry(index).fields


def test_a_decision_is_one_fraud_decision_entry_with_its_evidence(
    service: FraudService, ledger: Ledger, tiny_fraud_model: Path
) -> None:
    decision, index = service.score(Payment("tx1", T0, "cust-9", "term-4", 25.0))
    entry = fields(ledger, index)
    assert entry["kind"] == "fraud.decision"
    assert entry["actor"] == "fraud-engine"
    assert entry["subject"] == "payment:tx1"
    assert entry["action"] == entry["outcome"] == decision.action == "approve"
    evidence = entry["evidence"]
    assert evidence["score"] == decision.score
    assert evidence["reasons"] == list(decision.reasons)
    assert evidence["model_version"] == decision.model_version == load_artifact(tiny_fraud_model).version
    assert evidence["policy_id"] == decision.policy_id
    assert (evidence["customer_id"], evidence["terminal_id"]) == ("cust-9", "term-4")
    assert ledger.size == index + 1


def test_a_large_payment_after_a_quiet_history_is_declined(service: FraudService, ledger: Ledger) -> None:
    history(service)
    decision, index = service.score(Payment("big", T0 + 6 * 3600, "c1", "t1", 2_000.0))
    assert decision.action == "decline", decision
    assert decision.reasons[0].startswith("score ")
    assert fields(ledger, index)["outcome"] == "decline"


def test_freezing_is_audited_on_its_own_and_declines_later_payments(ledger: Ledger, tiny_fraud_model: Path) -> None:
    service = make_service(ledger, tiny_fraud_model, freeze=0.9, decline=0.85)
    history(service)
    decision, index = service.score(Payment("big", T0 + 6 * 3600, "c1", "t1", 2_000.0))
    assert decision.action == "freeze_account"
    freeze = fields(ledger, index + 1)
    assert (freeze["kind"], freeze["action"], freeze["subject"]) == ("fraud.account", "freeze", "account:c1")
    assert service.is_frozen("c1")
    after, _ = service.score(Payment("small", T0 + 7 * 3600, "c1", "t1", 5.0))
    assert (after.action, after.reasons[0]) == ("decline", "account frozen")
    other, _ = service.score(Payment("other", T0 + 7 * 3600, "c2", "t1", 5.0))
    assert other.action == "approve"
    undo = service.unfreeze_account("c1", actor="analyst:ann", reason="customer confirmed")
    entry = fields(ledger, undo)
    assert (entry["kind"], entry["action"], entry["actor"]) == ("fraud.account", "unfreeze", "analyst:ann")
    assert not service.is_frozen("c1")


def test_a_card_number_is_refused_before_anything_changes(service: FraudService, ledger: Ledger) -> None:
    before = (ledger.size, service.scorer.engine.entities)
    for payment in (
        Payment("tx1", T0, PAN, "t1", 10.0),
        Payment("tx2", T0, "c1", f"pan {PAN}", 10.0),
    ):
        with pytest.raises(SensitiveDataError):
            service.score(payment)
    assert (ledger.size, service.scorer.engine.entities) == before
    assert ledger.size == 0


def test_the_same_payment_twice_is_decided_once(service: FraudService, ledger: Ledger) -> None:
    payment = Payment("tx1", T0, "c1", "t1", 10.0)
    first = service.score(payment)
    assert service.score(payment) == first
    assert ledger.size == 1
    with pytest.raises(InputError) as caught:
        service.score(Payment("tx1", T0, "c1", "t1", 11.0))
    assert caught.value.field == "transaction_id"
    assert ledger.size == 1


@pytest.mark.parametrize(
    ("payment", "field"),
    [
        (Payment("", T0, "c1", "t1", 1.0), "transaction_id"),
        (Payment("tx", T0, " ", "t1", 1.0), "customer_id"),
        (Payment("tx", T0, "c1", "", 1.0), "terminal_id"),
        (Payment("tx", T0, "c1", "t1", 0.0), "amount"),
        (Payment("tx", T0, "c1", "t1", -5.0), "amount"),
        (Payment("tx", T0, "c1", "t1", MAX_AMOUNT), "amount"),
        (Payment("tx", T0, "c1", "t1", float("nan")), "amount"),
        (Payment("tx", -1, "c1", "t1", 1.0), "time"),
    ],
)
def test_bad_payments_name_the_field_and_change_nothing(
    service: FraudService, ledger: Ledger, payment: Payment, field: str
) -> None:
    with pytest.raises(InputError) as caught:
        service.score(payment)
    assert caught.value.field == field
    assert ledger.size == 0
    assert service.scorer.engine.entities == (0, 0)


def test_a_label_is_audited_and_queued_for_the_features(service: FraudService, ledger: Ledger) -> None:
    _, scored = service.score(Payment("tx1", T0, "c1", "t1", 10.0))
    index = service.label("tx1", True, "chargeback", T0 + 86_400, actor="token:ops")
    entry = fields(ledger, index)
    assert (entry["kind"], entry["action"], entry["subject"], entry["outcome"], entry["actor"]) == (
        "fraud.label",
        "chargeback",
        "payment:tx1",
        "fraud",
        "token:ops",
    )
    assert entry["evidence"] == {
        "fraud": True,
        "source": "chargeback",
        "known_at": T0 + 86_400,
        "customer_id": "c1",
        "terminal_id": "t1",
        "time": T0,
    }
    assert service.scorer.engine.pending_labels == 1
    assert index == scored + 1


@pytest.mark.parametrize(
    ("args", "field", "error"),
    [
        (("nope", True, "chargeback"), "transaction_id", NotFoundError),
        (("", True, "chargeback"), "transaction_id", InputError),
        (("tx1", 1, "chargeback"), "fraud", InputError),
        (("tx1", True, "customer"), "source", InputError),
        (("tx1", True, "analyst", T0 - 1), "known_at", InputError),
        (("tx1", True, "analyst", "tomorrow"), "known_at", InputError),
    ],
)
def test_bad_labels_name_the_field_and_change_nothing(
    service: FraudService, ledger: Ledger, args: tuple[Any, ...], field: str, error: type[Exception]
) -> None:
    service.score(Payment("tx1", T0, "c1", "t1", 10.0))
    with pytest.raises(error) as caught:
        service.label(*args)
    assert getattr(caught.value, "field", None) == field
    assert ledger.size == 1
    assert service.scorer.engine.pending_labels == 0


def test_concurrent_scoring_records_every_decision_once(service: FraudService, ledger: Ledger) -> None:
    results: list[tuple[str, int]] = []
    lock = threading.Lock()

    def work(worker: int) -> None:
        for i in range(40):
            decision, index = service.score(Payment(f"w{worker}-{i}", T0 + i, f"c{worker}", f"t{i % 5}", 10.0 + i))
            with lock:
                results.append((decision.action, index))

    threads = [threading.Thread(target=work, args=(w,)) for w in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    indices = sorted(index for _, index in results)
    assert indices == list(range(240))
    subjects = {fields(ledger, i)["subject"] for i in indices}
    assert len(subjects) == 240


def test_from_settings_loads_the_model_and_thresholds(ledger: Ledger, tiny_fraud_model: Path) -> None:
    settings = FraudSettings(model_dir=tiny_fraud_model, review_threshold=0.3, decline_threshold=0.6)
    service = FraudService.from_settings(settings, ledger)
    assert service.policy.thresholds == Thresholds(review=0.3, decline=0.6, freeze=0.98)
    with pytest.raises(NotFoundError) as caught:
        FraudService.from_settings(FraudSettings(), ledger)
    assert caught.value.field == "fraud.model_dir"


def test_json_bodies_parse_or_name_the_field() -> None:
    body = {"transaction_id": "t", "time": "2020-09-13T12:26:40Z", "customer_id": "c", "terminal_id": "m", "amount": 5}
    assert payment_from_json(body) == Payment("t", T0, "c", "m", 5.0)
    assert payment_from_json({**body, "time": T0}).time == T0
    assert payment_from_json({**body, "time": "2020-09-13T14:26:40+02:00"}).time == T0
    for change, field in [
        ({"time": "2020-09-13 12:26:40"}, "time"),  # no offset
        ({"time": "yesterday"}, "time"),
        ({"time": True}, "time"),
        ({"amount": "5"}, "amount"),
        ({"amount": True}, "amount"),
        ({"amount": 2 * MAX_AMOUNT}, "amount"),
        ({"extra": 1}, "extra"),
        ({"customer_id": 7}, "customer_id"),
    ]:
        with pytest.raises(InputError) as caught:
            payment_from_json({**body, **change})
        assert caught.value.field == field, change
    with pytest.raises(InputError) as missing:
        payment_from_json({k: v for k, v in body.items() if k != "terminal_id"})
    assert missing.value.field == "terminal_id"
    label = label_from_json({"transaction_id": "t", "fraud": False, "source": "analyst", "known_at": T0})
    assert (label.fraud, label.source, label.known_at) == (False, "analyst", T0)
    with pytest.raises(InputError) as bad:
        label_from_json({"transaction_id": "t", "fraud": "yes", "source": "analyst"})
    assert bad.value.field == "fraud"


class _Recorder:
    """An observer that keeps what it was told, and one that always fails."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, Any]] = []

    def on_decision(self, payment: Payment, verdict: Any, decision: Any, audit_index: int) -> None:
        self.calls.append(("decision", (payment.tx_id, len(verdict.features), decision.action, audit_index)))

    def on_label(self, payment: Payment, fraud: bool, source: str, audit_index: int) -> None:
        self.calls.append(("label", (payment.tx_id, fraud, source, audit_index)))

    def on_account(self, customer_id: str, action: str, reason: str, audit_index: int) -> None:
        self.calls.append(("account", (customer_id, action, audit_index)))


class _Broken(_Recorder):
    def on_decision(self, payment: Payment, verdict: Any, decision: Any, audit_index: int) -> None:
        raise RuntimeError("observer bug")


def test_observers_see_every_decision_label_and_freeze_after_it_is_in_the_ledger(
    service: FraudService, ledger: Ledger, caplog: pytest.LogCaptureFixture
) -> None:
    seen = _Recorder()
    service.add_observer(_Broken())
    service.add_observer(seen)
    decision, index = service.score(Payment("o1", T0, "c9", "t1", 25.0))
    label_index = service.label("o1", True, "chargeback")
    freeze_index = service.freeze_account("c9", reason="analyst")
    assert seen.calls == [
        ("decision", ("o1", len(FEATURE_NAMES), decision.action, index)),
        ("label", ("o1", True, "chargeback", label_index)),
        ("account", ("c9", "freeze", freeze_index)),
    ]
    # Each notification names an entry that is already in the ledger.
    assert ledger.size > freeze_index > label_index > index
    # A failing observer is logged and does not stop the decision or the others.
    assert any("failed in on_decision" in r.getMessage() for r in caplog.records)
