"""``FraudService.score_async``: decides as ``score_recorded``, answers once durable; repeats after a restart."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest

from finpilot.audit import Entry, Ledger, open_ledger
from finpilot.core import InputError, Settings
from finpilot.fraud import (
    DecisionPolicy,
    FeatureEngine,
    FraudService,
    Payment,
    Scorer,
    Thresholds,
    iter_payments,
    load_artifact,
    load_state,
    save_state,
)
from finpilot.fraud._serving._persist import decisions_from_ledger

T0 = 1_700_000_000
POLICY = DecisionPolicy(Thresholds(review=0.5, decline=0.8, freeze=1.0))
CALLER: dict[str, str | None] = {"token_id": "t1", "client": "127.0.0.1", "request": "POST /api/v1/fraud/scores"}


@pytest.fixture
def ledger(tmp_path: Path) -> Iterator[Ledger]:
    """The audit ledger."""
    with open_ledger(Settings(data_dir=tmp_path / "fp")) as opened:
        yield opened


def service(ledger: Ledger, model: Path, policy: DecisionPolicy = POLICY) -> FraudService:
    """A fresh fraud service (as at start-up) over ``ledger``."""
    return FraudService(Scorer(FeatureEngine(), load_artifact(model)), policy, ledger)


def stream(n: int) -> list[Payment]:
    """``n`` generated payments with live-like times from T0."""
    out = []
    for p in iter_payments(customers=30, terminals=60, days=None, seed=5):
        if len(out) == n:
            break
        out.append(Payment(f"tx{p.tx_id}", T0 + p.seconds, f"c{p.customer}", f"t{p.terminal}", p.amount))
    return out


def decisions(ledger: Ledger) -> list[dict[str, object]]:
    return [e.fields for e in reversed(ledger.tail(ledger.size)) if e.fields["kind"] == "fraud.decision"]


def test_score_async_decides_as_score_recorded_and_answers_once_durable(tmp_path: Path, tiny_fraud_model: Path) -> None:
    payments = stream(120)
    with open_ledger(Settings(data_dir=tmp_path / "sync")) as sync_ledger:
        sync = service(sync_ledger, tiny_fraud_model)
        expected = [sync.score_recorded(p, caller=CALLER) for p in payments]
        sync_leaves = [sync_ledger.entry(i).fields for i in range(sync_ledger.size)]
    with open_ledger(Settings(data_dir=tmp_path / "async")) as async_ledger:
        served = service(async_ledger, tiny_fraud_model)

        async def go() -> list[tuple[object, int, bool]]:
            out = []
            for p in payments:
                answer = await served.score_async(p, caller=CALLER)
                assert async_ledger.store.size() > answer[1]  # committed before the answer
                out.append(answer)
            return out

        got = asyncio.run(go())
        async_leaves = [async_ledger.entry(i).fields for i in range(async_ledger.size)]
    assert got == expected
    # Entry for entry the same meaning (only the recording time differs).
    strip = [{k: v for k, v in f.items() if k != "time"} for f in sync_leaves]
    assert strip == [{k: v for k, v in f.items() if k != "time"} for f in async_leaves]


def test_a_repeat_gets_the_first_answer_and_writes_nothing(ledger: Ledger, tiny_fraud_model: Path) -> None:
    served = service(ledger, tiny_fraud_model)
    first = stream(1)[0]

    async def go() -> None:
        decision, index, recorded = await served.score_async(first)
        assert recorded
        assert await served.score_async(first) == (decision, index, False)
        assert served.score_recorded(first) == (decision, index, False)
        with pytest.raises(InputError, match="with other data"):
            await served.score_async(Payment(first.tx_id, first.time, first.customer, first.terminal, 1.0))

    asyncio.run(go())
    assert len(decisions(ledger)) == 1


def test_a_freezing_decision_freezes_the_account_before_the_answer(ledger: Ledger, tiny_fraud_model: Path) -> None:
    freezer = DecisionPolicy(Thresholds(review=0.0, decline=0.0, freeze=0.0))
    served = service(ledger, tiny_fraud_model, freezer)
    payment = stream(1)[0]

    async def go() -> int:
        decision, index, _recorded = await served.score_async(payment)
        assert decision.action == "freeze_account"
        assert served.is_frozen(payment.customer)
        assert ledger.store.size() == index + 2  # the decision, then its fraud.account entry
        return index

    index = asyncio.run(go())
    account = ledger.entry(index + 1).fields
    assert (account["kind"], account["action"], account["subject"]) == (
        "fraud.account",
        "freeze",
        f"account:{payment.customer}",
    )


def test_concurrent_async_and_sync_scoring_records_each_payment_once(ledger: Ledger, tiny_fraud_model: Path) -> None:
    served = service(ledger, tiny_fraud_model)
    payments = stream(200)

    async def go() -> list[tuple[object, int, bool]]:
        loop = asyncio.get_running_loop()
        tasks = []
        for i, p in enumerate(payments):
            if i % 3 == 0:
                tasks.append(loop.run_in_executor(None, lambda p=p: served.score_recorded(p)))
            else:
                tasks.append(asyncio.ensure_future(served.score_async(p)))
        return list(await asyncio.gather(*tasks))

    answers = asyncio.run(go())
    assert sorted(index for _d, index, _r in answers) == list(range(200))
    for p, (_d, index, recorded) in zip(payments, answers, strict=True):
        assert recorded
        assert ledger.entry(index).fields["subject"] == f"payment:{p.tx_id}"
    assert ledger.verify().ok


def test_a_restarted_service_answers_a_repeat_from_the_ledger(
    ledger: Ledger, tiny_fraud_model: Path, tmp_path: Path
) -> None:
    payments = stream(60)
    running = service(ledger, tiny_fraud_model)
    save_state(running, tmp_path / "state")  # the last clean save, before any payment
    answers = [running.score_recorded(p) for p in payments]
    size = ledger.size

    restarted = service(ledger, tiny_fraud_model)  # as after kill -9: no save since
    restored = load_state(restarted, tmp_path / "state")
    assert restored.decisions_recalled == 60
    for p, (decision, index, _recorded) in zip(payments, answers, strict=True):
        assert restarted.score_recorded(p) == (decision, index, False)
    with pytest.raises(InputError, match="with other data"):
        restarted.score(Payment(payments[0].tx_id, payments[0].time, "someone-else", "t1", 5.0))
    assert ledger.size == size


def test_the_lookback_bounds_what_a_restart_remembers(ledger: Ledger, tiny_fraud_model: Path, tmp_path: Path) -> None:
    payments = stream(30)
    running = service(ledger, tiny_fraud_model)
    for p in payments:
        running.score(p)
    restarted = service(ledger, tiny_fraud_model)
    restored = load_state(restarted, tmp_path / "none", lookback=10)
    assert restored.decisions_recalled == 10
    assert restarted.score_recorded(payments[-1])[2] is False  # within the bound: the recorded answer
    assert restarted.score_recorded(payments[0])[2] is True  # beyond it: decided afresh


def test_recall_reads_odd_ids_and_ignores_lookalike_entries(
    ledger: Ledger, tiny_fraud_model: Path, tmp_path: Path
) -> None:
    # An entry of another kind that mentions fraud.decision and a payment subject is no decision.
    ledger.append(
        Entry(
            kind="custom.note",
            actor="someone",
            action="note",
            subject='payment:tx-"odd"-é',
            outcome="ok",
            evidence={"kind": "fraud.decision", "x": ',"kind":"fraud.decision"'},
        )
    )
    odd = Payment('tx-"odd"-é', T0, "c1", "t1", 25.0)
    running = service(ledger, tiny_fraud_model)
    decision, index, _ = running.score_recorded(odd)
    assert decisions_from_ledger(ledger) == {odd.tx_id: index}

    restarted = service(ledger, tiny_fraud_model)
    assert load_state(restarted, tmp_path / "none").decisions_recalled == 1
    assert restarted.score_recorded(odd) == (decision, index, False)
    # A late label finds a payment scored before the restart.
    label_index = restarted.label(odd.tx_id, fraud=True, source="chargeback")
    assert ledger.entry(label_index).fields["subject"] == f"payment:{odd.tx_id}"


def test_a_cancelled_caller_still_completes_the_record(ledger: Ledger, tiny_fraud_model: Path) -> None:
    served = service(ledger, tiny_fraud_model)
    payment = stream(1)[0]

    async def go() -> None:
        task = asyncio.ensure_future(served.score_async(payment))
        await asyncio.sleep(0)  # decided, and waiting for the group commit
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        for _ in range(200):  # the shielded recording finishes on its own
            if ledger.size:
                break
            await asyncio.sleep(0.01)
        await asyncio.sleep(0.05)
        _decision, index, recorded = await served.score_async(payment)
        assert (index, recorded) == (0, False)

    asyncio.run(go())
    assert len(decisions(ledger)) == 1
