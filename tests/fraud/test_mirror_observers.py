"""The console's mirror tells its observers (the Fraud page's stats, alerts, drift) of the decisions
made in scorer processes, each once; a restarted console counts the last hour from the ledger."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from fraud_helpers import T0

from finpilot.audit import Ledger, open_ledger
from finpilot.core import FraudSettings, Settings, utc_now
from finpilot.fraud import FraudService, FraudStats, HashRing, Partition, Payment
from finpilot.fraud._policy import DecisionPolicy, FraudDecision, Thresholds
from finpilot.fraud._scorer import Score


@pytest.fixture
def ledger(tmp_path: Path) -> Iterator[Ledger]:
    with open_ledger(Settings(data_dir=tmp_path / "fp")) as opened:
        yield opened


class Heard:
    """An observer that keeps every decision and account change it is told of."""

    def __init__(self) -> None:
        self.decisions: list[tuple[Payment, Score, FraudDecision, int]] = []
        self.accounts: list[tuple[str, str, int]] = []

    def on_decision(self, payment: Payment, verdict: Score, decision: FraudDecision, audit_index: int) -> None:
        self.decisions.append((payment, verdict, decision, audit_index))

    def on_label(self, *_: object) -> None: ...

    def on_account(self, customer_id: str, action: str, reason: str, audit_index: int) -> None:
        self.accounts.append((customer_id, action, audit_index))


def service_on(ledger: Ledger, model: Path) -> FraudService:
    return FraudService.from_settings(FraudSettings(model_dir=model), ledger)


def pay(i: int) -> Payment:
    # Amounts from small to huge: the tiny model and its rules give more than one action.
    return Payment(f"tx{i}", T0 + i * 60, f"cust{i % 3}", f"t{i % 2}", 5.0 * 4**i)


def console_mirror(ledger: Ledger, model: Path) -> Partition:
    # As `finpilot up` builds it (mirror_partition): from the ledger's end on.
    mirror = Partition(service_on(ledger, model), HashRing(1), None)
    mirror.position = ledger.size
    return mirror


def test_a_scorers_decisions_reach_the_consoles_observers_once_and_its_own_are_not_told_twice(
    ledger: Ledger, tiny_fraud_model: Path
) -> None:
    scorer = Partition(service_on(ledger, tiny_fraud_model), HashRing(1), 0)
    console = console_mirror(ledger, tiny_fraud_model)
    stats, heard = FraudStats(), Heard()
    console.service.add_observer(stats)
    console.service.add_observer(heard)
    actions: Counter[str] = Counter()
    for i in range(6):
        decision, _ = scorer.service.score(pay(i))
        actions[decision.action] += 1
    # The console decides one itself (its own POST /api/v1/fraud/scores): told in-process, before its tail.
    own, own_index = console.service.score(pay(6))
    actions[own.action] += 1
    assert console.catch_up() == ledger.size  # 7 decisions, and the freezes of the largest amounts
    assert console.catch_up() == 0  # nothing new: nothing told again

    summary = stats.summary()
    assert summary["decisions"] == 7
    assert {a: n for a, n in summary["by_action"].items() if n} == dict(actions)
    assert [m["decisions"] for m in summary["model_versions"]] == [7]
    told = Counter(payment.tx_id for payment, *_ in heard.decisions)
    assert told == Counter({f"tx{i}": 1 for i in range(7)})
    assert console.stats.told == 6
    # A mirrored decision is the entry's: the scorer's answer, no feature vector (the ledger holds none).
    by_tx = {seen[0].tx_id: seen for seen in heard.decisions}
    for i in range(6):
        payment, verdict, decision, index = by_tx[f"tx{i}"]
        entry = ledger.entry(index).fields
        assert entry["subject"] == f"payment:tx{i}"
        assert decision.action == entry["action"]
        assert (verdict.score, verdict.model_score) == (entry["evidence"]["score"], entry["evidence"]["model_score"])
        assert list(verdict.reasons) == entry["evidence"]["reasons"]
        assert verdict.features == ()
        assert payment == pay(i)
    assert len(by_tx["tx6"][1].features) > 0  # the console's own: scored here, with its features
    assert by_tx["tx6"][3] == own_index


def test_a_restarted_console_counts_the_last_hour_from_the_ledger_once(ledger: Ledger, tiny_fraud_model: Path) -> None:
    scorer = Partition(service_on(ledger, tiny_fraud_model), HashRing(1), 0)
    for i in range(4):
        scorer.service.score(pay(i))
    # The console (re)starts: its mirror's tail reads from before the stats were filled from the ledger.
    console = Partition(service_on(ledger, tiny_fraud_model), HashRing(1), None)
    stats, heard = FraudStats(), Heard()
    assert stats.count_recent(ledger) == 4
    console.service.add_observer(stats)
    console.service.add_observer(heard)
    console.catch_up()
    assert stats.summary()["decisions"] == 4  # counted from the ledger, not again from the tail
    assert len(heard.decisions) == 4  # the other observers (alerts, drift) hear of them once
    scorer.service.score(pay(4))
    console.catch_up()
    assert stats.summary()["decisions"] == 5
    assert sum(row["total"] for row in stats.summary()["per_minute"]) == 5

    # Decisions older than the window are not on the page.
    later = FraudStats(clock=lambda: utc_now() + timedelta(hours=2))
    assert later.count_recent(ledger) == 0
    assert later.summary()["decisions"] == 0


def test_each_policy_freeze_reaches_the_consoles_observers_once_wherever_it_was_made(
    ledger: Ledger, tiny_fraud_model: Path
) -> None:
    def freezing(service: FraudService) -> FraudService:
        # Every score freezes: the freezes do not hang on what the tiny model makes of an amount.
        service.policy = DecisionPolicy(Thresholds(review=0.0, decline=0.0, freeze=0.0))
        return service

    scorer = Partition(freezing(service_on(ledger, tiny_fraud_model)), HashRing(1), 0)
    console = console_mirror(ledger, tiny_fraud_model)
    freezing(console.service)
    heard = Heard()
    console.service.add_observer(heard)
    for i in range(3):
        scorer.service.score(Payment(f"tx{i}", T0 + i * 60, f"cust{i}", "t0", 20.0))
    # The console's own payment: its policy freezes the card in this process, and the mirror then
    # reads that freeze's entry as well.
    console.service.score(Payment("own", T0 + 300, "cust-own", "t0", 20.0))
    console.catch_up()
    console.catch_up()
    freezes = [
        (entry.fields["evidence"]["customer_id"], "freeze", index)
        for index in range(ledger.size)
        if (entry := ledger.entry(index)).fields["kind"] == "fraud.account"
    ]
    assert [customer for customer, _, _ in freezes] == ["cust0", "cust1", "cust2", "cust-own"]
    assert sorted(heard.accounts, key=lambda row: row[2]) == freezes
