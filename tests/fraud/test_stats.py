"""Live fraud statistics on a fake clock: minute buckets, the hour window, rates, reasons, models, frozen accounts."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from finpilot.core import FakeClock, InputError
from finpilot.fraud import FraudStats, Payment
from finpilot.fraud._policy import FraudDecision
from finpilot.fraud._scorer import Score
from finpilot.fraud._serving._stats import reason_family

T0 = 1_600_000_000


def decide(stats: FraudStats, action: str, reasons: tuple[str, ...] = (), model: str = "m-1") -> None:
    payment = Payment("tx", T0, "c1", "t1", 10.0)
    decision = FraudDecision(action, 0.5, reasons, model, "fraud-policy/1")  # type: ignore[arg-type]
    stats.on_decision(payment, Score("tx", 0.5, 0.5, (), model), decision, 1)


@pytest.fixture
def clock() -> FakeClock:
    """12:00:30 UTC, half way through a minute."""
    return FakeClock(datetime(2026, 1, 1, 12, 0, 30, tzinfo=UTC))


def test_minute_buckets_rates_and_reasons(clock: FakeClock) -> None:
    stats = FraudStats(clock=clock)
    for _ in range(3):
        decide(stats, "approve")
    decide(stats, "decline", ("score 0.912 >= decline threshold 0.8",))
    clock.advance(60)
    decide(stats, "decline", ("score 0.85 >= decline threshold 0.8", "amount 1200 above 1000"))
    decide(stats, "freeze_account", ("score 0.99 >= freeze threshold 0.98",), model="m-2")
    clock.advance(1)
    decide(stats, "review")
    stats.on_label(Payment("tx", T0, "c1", "t1", 10.0), True, "chargeback", 2)
    stats.on_label(Payment("tx", T0, "c1", "t1", 10.0), False, "analyst", 3)

    s = stats.summary()
    json.dumps(s)  # JSON-able as it is
    assert s["decisions"] == 7
    assert s["by_action"] == {"approve": 3, "review": 1, "decline": 2, "freeze_account": 1}
    assert s["decline_rate"] == round(3 / 7, 4)  # a freeze declines the payment too
    assert s["last_minute"] == 3
    assert len(s["per_minute"]) == 60
    assert s["per_minute"][-1]["minute"] == "2026-01-01T12:01:00.000000Z"
    assert (s["per_minute"][-2]["approve"], s["per_minute"][-2]["decline"], s["per_minute"][-2]["total"]) == (3, 1, 4)
    assert sum(row["total"] for row in s["per_minute"]) == 7
    assert s["top_reasons"][0] == {"reason": "score … >= decline threshold 0.8", "count": 2}
    assert {"reason": "amount … above 1000", "count": 1} in s["top_reasons"]
    assert s["labels"] == {"fraud": 1, "legitimate": 1}
    # Most recently used first: m-1 decided the last payment.
    assert [(m["version"], m["decisions"]) for m in s["model_versions"]] == [("m-1", 6), ("m-2", 1)]


def test_the_window_forgets_old_minutes(clock: FakeClock) -> None:
    stats = FraudStats(window_minutes=60, clock=clock)
    decide(stats, "decline")
    clock.advance(59 * 60)
    decide(stats, "approve")
    assert stats.summary()["decisions"] == 2  # 59 minutes later, still inside the hour
    clock.advance(60)
    s = stats.summary()
    assert (s["decisions"], s["by_action"]["decline"], s["decline_rate"]) == (1, 0, 0.0)
    clock.advance(3600)
    assert stats.summary()["decline_rate"] is None
    decide(stats, "approve")
    assert len(stats._buckets) <= 61  # memory is bounded by the window


def test_frozen_accounts_follow_freezes_and_unfreezes(clock: FakeClock) -> None:
    stats = FraudStats(clock=clock)
    stats.on_account("c1", "freeze", "decision on payment:tx9", 5)
    clock.advance(10)
    stats.on_account("c2", "freeze", "by hand", 6)
    assert [(r["customer_id"], r["audit_index"]) for r in stats.summary()["frozen_accounts"]] == [("c2", 6), ("c1", 5)]
    assert stats.frozen_accounts()[1] == {
        "customer_id": "c1",
        "since": "2026-01-01T12:00:30.000000Z",
        "reason": "decision on payment:tx9",
        "audit_index": 5,
    }
    stats.on_account("c2", "unfreeze", "", 7)
    assert [r["customer_id"] for r in stats.frozen_accounts()] == ["c1"]


def test_reason_family_drops_the_payments_own_number() -> None:
    assert reason_family("score 0.912 >= review threshold 0.5") == "score … >= review threshold 0.5"
    assert reason_family("3 payments today, limit 2") == "… payments today, limit 2"
    assert reason_family("account frozen") == "account frozen"


def test_the_window_must_be_positive() -> None:
    with pytest.raises(InputError):
        FraudStats(window_minutes=0)
