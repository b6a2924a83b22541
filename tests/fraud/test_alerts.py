"""Fraud alerts: one per account per window, repeats counted, every raised alert audited before any sink sees it."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from finpilot.audit import Ledger, open_ledger
from finpilot.core import FakeClock, InputError, SensitiveDataError, Settings
from finpilot.fraud import (
    AlertManager,
    DecisionPolicy,
    FeatureEngine,
    FraudService,
    Payment,
    Scorer,
    Thresholds,
    load_artifact,
)
from finpilot.fraud._alerts import SEVERITIES, Alert, Severity
from finpilot.fraud._policy import FraudDecision
from finpilot.fraud._scorer import Score

T0 = 1_600_000_000
WINDOW = 600.0


class RecordingSink:
    """An in-memory sink: what was sent, in order."""

    def __init__(self) -> None:
        self.alerts: list[Alert] = []

    def send(self, alert: Alert) -> None:
        self.alerts.append(alert)

    def stats(self) -> dict[str, int]:
        return {"sent": len(self.alerts)}


@pytest.fixture(scope="module")
def shared_ledger(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Ledger]:
    """One real ledger for the property test (hypothesis reuses it across examples)."""
    with open_ledger(Settings(data_dir=tmp_path_factory.mktemp("alerts") / "data")) as opened:
        yield opened


@pytest.fixture
def ledger(tmp_path: Path) -> Iterator[Ledger]:
    """A real SQLite ledger of this test's own."""
    with open_ledger(Settings(data_dir=tmp_path / "data")) as opened:
        yield opened


def decision(action: str, reasons: tuple[str, ...] = ("score 0.910 >= decline threshold 0.8",)) -> FraudDecision:
    return FraudDecision(action, 0.91, reasons, "m-1", "fraud-policy/1")  # type: ignore[arg-type]


def observe(manager: AlertManager, customer: str, action: str, tx: str) -> None:
    payment = Payment(tx, T0, customer, "t1", 50.0)
    manager.on_decision(payment, Score(tx, 0.91, 0.91, (), "m-1"), decision(action), 7)


def alert_entries(ledger: Ledger, since: int = 0) -> list[dict[str, Any]]:
    return [
        ledger.entry(i).fields for i in range(since, ledger.size) if ledger.entry(i).fields["kind"] == "fraud.alert"
    ]


# An event: (account or None for an account-less drift alert, severity or "unfreeze", seconds since the last event).
events_strategy = st.lists(
    st.tuples(
        st.sampled_from(["a", "b", "c", None]),
        st.sampled_from([*SEVERITIES, "unfreeze"]),
        st.sampled_from([0.0, 1.0, 59.0, 300.0, 599.0, 600.0, 601.0, 1500.0]),
    ),
    max_size=40,
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(events=events_strategy)
def test_at_most_one_alert_per_account_per_window_and_the_counts_add_up(
    shared_ledger: Ledger, events: list[tuple[str | None, str, float]]
) -> None:
    clock = FakeClock()
    sink = RecordingSink()
    manager = AlertManager(shared_ledger, [sink], dedup_window_s=WINDOW, keep=1000, clock=clock)
    start = shared_ledger.size
    # The reference model: per key, the open alert's (start time, severity).
    model: dict[str, tuple[float, int]] = {}
    now = 0.0
    expected_raised: list[tuple[str, str]] = []
    repeats_expected: dict[int, int] = {}
    events_counted = 0
    for account, what, dt in events:
        clock.advance(dt)
        now += dt
        if what == "unfreeze":
            if account is not None:
                manager.on_account(account, "unfreeze", "", 0)
                model.pop(account, None)
            continue
        events_counted += 1
        key = account if account is not None else "kind:fraud.drift"
        rank = SEVERITIES.index(what)
        severity: Severity = what  # type: ignore[assignment]
        got = manager.raise_alert("fraud.drift", {"audit_index": events_counted}, account, severity=severity)
        current = model.get(key)
        if current is not None and now - current[0] < WINDOW and rank <= current[1]:
            assert got is None
            last = max(i for i, (k, _) in enumerate(expected_raised) if k == key)
            repeats_expected[last] = repeats_expected.get(last, 0) + 1
        else:
            assert got is not None
            model[key] = (now, rank)
            expected_raised.append((key, what))

    summary = manager.summary()
    assert summary["raised"] == len(expected_raised)
    assert summary["raised"] + summary["suppressed"] == events_counted
    recent = list(reversed(summary["recent"]))  # oldest first
    assert [(r["account"] or "kind:fraud.drift", r["severity"]) for r in recent] == expected_raised
    assert [r["repeats"] for r in recent] == [repeats_expected.get(i, 0) for i in range(len(expected_raised))]
    assert sum(r["repeats"] for r in recent) == summary["suppressed"]
    # Exactly one ledger entry and one delivery per raised alert, in the same order, none per repeat.
    entries = alert_entries(shared_ledger, start)
    assert [e["evidence"]["alert_id"] for e in entries] == [a.alert_id for a in sink.alerts]
    assert [a.audit_index for a in sink.alerts] == [r["audit_index"] for r in recent]
    # At most one open alert per key at any time.
    open_keys = [r["account"] or "kind:fraud.drift" for r in recent if r["open"]]
    assert len(open_keys) == len(set(open_keys))


def test_declines_and_freezes_alert_approvals_do_not(ledger: Ledger) -> None:
    clock = FakeClock()
    sink = RecordingSink()
    manager = AlertManager(ledger, [sink], clock=clock)
    observe(manager, "c1", "approve", "tx1")
    observe(manager, "c1", "review", "tx2")
    assert sink.alerts == []
    observe(manager, "c1", "decline", "tx3")
    observe(manager, "c1", "decline", "tx4")  # a repeat inside the window
    assert [(a.kind, a.account, a.severity) for a in sink.alerts] == [("decline", "c1", "warning")]
    observe(manager, "c1", "freeze_account", "tx5")  # more severe: raised again
    manager.on_account("c1", "freeze", "decision on payment:tx5", 9)  # same severity: a repeat
    assert [(a.kind, a.severity) for a in sink.alerts] == [("decline", "warning"), ("freeze_account", "critical")]
    latest = manager.recent()[0]
    assert (latest["kind"], latest["repeats"], latest["open"]) == ("freeze_account", 1, True)
    assert latest["evidence"] == {
        "customer_id": "c1",
        "transaction_id": "tx5",
        "decision": "freeze_account",
        "score": 0.91,
        "model_version": "m-1",
        "decision_index": 7,
    }
    entry = ledger.entry(latest["audit_index"]).fields
    assert (entry["kind"], entry["actor"], entry["subject"], entry["outcome"]) == (
        "fraud.alert",
        "fraud-alerts",
        "account:c1",
        "critical",
    )
    assert entry["evidence"]["alert_id"] == latest["alert_id"]
    assert entry["evidence"]["reasons"] == ["score 0.910 >= decline threshold 0.8"]
    # Unfreezing closes the open alert, so a new freeze inside the window alerts again.
    manager.on_account("c1", "unfreeze", "", 10)
    assert manager.recent()[0]["open"] is False
    manager.on_account("c1", "freeze", "by hand", 11)
    assert [a.kind for a in sink.alerts][-1] == "account_frozen"
    # Another account is independent; after the window the same account alerts again.
    observe(manager, "c2", "decline", "tx6")
    clock.advance(WINDOW)
    observe(manager, "c2", "decline", "tx7")
    assert [a.evidence.get("transaction_id") for a in sink.alerts if a.account == "c2"] == ["tx6", "tx7"]
    assert len(alert_entries(ledger)) == len(sink.alerts) == 5


def test_drift_alerts_are_deduplicated_per_kind(ledger: Ledger) -> None:
    manager = AlertManager(ledger, clock=FakeClock())
    on_alert = manager.raise_alert  # what a drift monitor is given
    first = on_alert("fraud.drift", {"signal": "psi", "model_version": "m-1", "score_psi": 0.31})
    assert first is not None
    assert first.account is None
    assert on_alert("fraud.drift", {"signal": "adwin", "model_version": "m-1", "error_rate": 0.4}) is None
    assert on_alert("decline", {"decision": "decline"}) is not None  # another alert kind: not a repeat
    entry = ledger.entry(first.audit_index).fields
    assert (entry["subject"], entry["action"], entry["evidence"]["score_psi"]) == ("fraud", "fraud.drift", 0.31)
    assert manager.summary()["suppressed"] == 1


def test_an_undeclared_alert_kind_is_refused_and_leaves_nothing_open(ledger: Ledger) -> None:
    manager = AlertManager(ledger, clock=FakeClock())
    with pytest.raises(InputError) as refused:
        manager.raise_alert("fraud.other", {})
    assert refused.value.field == "action"
    with pytest.raises(InputError) as refused:
        manager.raise_alert("decline", {"psi": 0.4})
    assert refused.value.field == "evidence.psi"
    assert ledger.size == 0
    assert manager.summary()["raised"] == 0
    assert manager.raise_alert("decline", {"decision": "decline"}) is not None


def test_a_refused_entry_leaves_no_open_alert(ledger: Ledger) -> None:
    sink = RecordingSink()
    manager = AlertManager(ledger, [sink], clock=FakeClock())
    with pytest.raises(SensitiveDataError):
        manager.raise_alert("decline", {"reason": "card 4111111111111111"}, "c1")
    assert sink.alerts == []
    assert ledger.size == 0
    assert manager.raise_alert("decline", {"reason": "fine"}, "c1") is not None
    assert manager.summary()["raised"] == 1


def test_a_broken_sink_does_not_stop_the_others(ledger: Ledger) -> None:
    class Broken(RecordingSink):
        def send(self, alert: Alert) -> None:
            raise RuntimeError("boom")

    good = RecordingSink()
    manager = AlertManager(ledger, [Broken(), good], clock=FakeClock())
    assert manager.raise_alert("decline", {}, "c1") is not None
    assert len(good.alerts) == 1


def test_the_service_tells_the_manager(ledger: Ledger, tiny_fraud_model: Path) -> None:
    # Every payment is declined (decline threshold 0): one alert for the account, the rest counted on it.
    scorer = Scorer(FeatureEngine(), load_artifact(tiny_fraud_model))
    service = FraudService(scorer, DecisionPolicy(Thresholds(review=0.0, decline=0.0, freeze=1.5)), ledger)
    sink = RecordingSink()
    manager = AlertManager(ledger, [sink], clock=FakeClock())
    service.add_observer(manager)
    for i in range(3):
        decided, _ = service.score(Payment(f"tx{i}", T0 + i, "c9", "t1", 20.0))
        assert decided.action == "decline"
    assert [(a.kind, a.account) for a in sink.alerts] == [("decline", "c9")]
    assert manager.recent()[0]["repeats"] == 2
    service.freeze_account("c9", actor="token:ops", reason="by hand")
    assert [a.kind for a in sink.alerts] == ["decline", "account_frozen"]
    assert len(alert_entries(ledger)) == 2


def test_concurrent_repeats_raise_one_alert(ledger: Ledger) -> None:
    sink = RecordingSink()
    manager = AlertManager(ledger, [sink], clock=FakeClock())
    barrier = threading.Barrier(8)

    def hammer(worker: int) -> None:
        barrier.wait()
        for i in range(25):
            manager.raise_alert("decline", {"decision_index": worker * 100 + i}, "c1")

    threads = [threading.Thread(target=hammer, args=(w,)) for w in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    summary = manager.summary()
    assert (summary["raised"], summary["suppressed"]) == (1, 199)
    assert summary["recent"][0]["repeats"] == 199
    assert len(sink.alerts) == len(alert_entries(ledger)) == 1
