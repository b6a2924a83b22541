"""NATS mode, in one process against the real server: partitions, idempotent redelivery, crash recovery."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import nats.errors
import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st
from nats.js import JetStreamContext
from nats_helpers import (
    generated,
    jetstream,
    ledger_decisions,
    unique_layout,
    wait_for,
)

from finpilot.audit import Ledger, open_ledger
from finpilot.core import ConfigError, InputError, Settings, StorageError
from finpilot.fraud import (
    DecisionPolicy,
    FeatureEngine,
    FraudService,
    NatsLayout,
    NatsWorker,
    Scorer,
    Thresholds,
    connect_nats,
    ensure_jetstream,
    load_artifact,
    publish_payments,
)
from finpilot.fraud._serving._nats_layout import partition_for, payment_to_json, read_decisions, subject_token

POLICY = DecisionPolicy(Thresholds(review=0.5, decline=0.8, freeze=1.5))


@pytest.fixture
def ledger(tmp_path: Path) -> Iterator[Ledger]:
    """A real SQLite ledger."""
    with open_ledger(Settings(data_dir=tmp_path / "data")) as opened:
        yield opened


@asynccontextmanager
async def running(
    js: JetStreamContext,
    layout: NatsLayout,
    ledger: Ledger,
    model: Path,
    name: str,
    kind: type[NatsWorker] = NatsWorker,
) -> AsyncIterator[NatsWorker]:
    """A worker running in this event loop until the block ends (then it stops cleanly)."""
    worker = kind(js, layout, worker_id=name, artifact=load_artifact(model), policy=POLICY, ledger=ledger)
    stop = asyncio.Event()
    task = asyncio.create_task(worker.run(stop))
    try:
        yield worker
    finally:
        stop.set()
        await task


# ---------------------------------------------------------------- no server needed


@given(st.text(min_size=1, max_size=40), st.integers(min_value=1, max_value=1024))
def test_partition_is_stable_and_in_range(customer: str, partitions: int) -> None:
    first = partition_for(customer, partitions)
    assert 0 <= first < partitions
    assert partition_for(customer, partitions) == first


def test_partition_does_not_depend_on_the_process() -> None:
    # Pinned values: a change would move customers (and their window state) to other partitions
    # under running workers, and Python's salted hash() would differ in every process.
    assert partition_for("cust9", 12) == 8
    assert [partition_for(f"c{i}", 12) for i in range(6)] == [7, 4, 7, 7, 5, 5]
    assert {partition_for(f"c{i}", 12) for i in range(300)} == set(range(12))


@given(st.text(min_size=1, max_size=60), st.text(min_size=1, max_size=60))
def test_subject_tokens_are_single_tokens_and_never_shared(a: str, b: str) -> None:
    for token in (subject_token(a), subject_token(b)):
        assert token
        assert not any(c in token for c in ".*> \t\r\n")
    assert (subject_token(a) == subject_token(b)) == (a == b)


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"prefix": "Bad.Prefix"}, "prefix"),
        ({"prefix": ""}, "prefix"),
        ({"partitions": 0}, "partitions"),
        ({"lease_s": 10.0, "ack_wait_s": 5.0}, "ack_wait_s"),
    ],
)
def test_layout_refuses_bad_settings(kwargs: dict[str, object], field: str) -> None:
    with pytest.raises(InputError) as caught:
        NatsLayout(**kwargs)  # type: ignore[arg-type]
    assert caught.value.field == field


def test_unreachable_server_is_a_storage_error() -> None:
    with pytest.raises(StorageError, match="cannot reach the NATS server"):
        asyncio.run(connect_nats("nats://127.0.0.1:1"))


def test_worker_id_must_be_a_key_token(tiny_fraud_model: Path, ledger: Ledger) -> None:
    with pytest.raises(InputError) as caught:
        NatsWorker(
            None,  # type: ignore[arg-type]
            NatsLayout(),
            worker_id="w.1",
            artifact=load_artifact(tiny_fraud_model),
            policy=POLICY,
            ledger=ledger,
        )
    assert caught.value.field == "worker_id"


# ---------------------------------------------------------------- against the server


def test_publishing_twice_stores_each_payment_once(nats_url: str) -> None:
    payments = generated(1)[:50]
    layout = unique_layout(partitions=4)

    async def scenario() -> tuple[int, int, int]:
        async with jetstream(nats_url, layout) as js:
            first = await publish_payments(js, layout, payments)
            again = await publish_payments(js, layout, payments)
            info = await js.stream_info(layout.payments_stream)
            return first, again, info.state.messages

    assert asyncio.run(scenario()) == (50, 0, 50)


def test_another_partition_count_is_refused(nats_url: str) -> None:
    layout = unique_layout(partitions=4)

    async def scenario() -> None:
        async with jetstream(nats_url, layout) as js:
            await ensure_jetstream(js, NatsLayout(prefix=layout.prefix, partitions=5))

    with pytest.raises(ConfigError, match="created with 4 partitions"):
        asyncio.run(scenario())


def test_a_payment_delivered_again_is_not_decided_again(nats_url: str, tiny_fraud_model: Path, ledger: Ledger) -> None:
    payments = generated(1, customers=60)
    layout = unique_layout(partitions=3, lease_s=2.0, ack_wait_s=4.0)
    again = payments[7]

    async def scenario() -> tuple[list[dict[str, object]], NatsWorker]:
        async with jetstream(nats_url, layout) as js, running(js, layout, ledger, tiny_fraud_model, "w1") as worker:
            await publish_payments(js, layout, payments)
            await wait_for(lambda: worker.stats.decided == len(payments), 30, "every payment decided")
            # The same payment as a second stream message (no Nats-Msg-Id, so JetStream keeps it):
            # the worker sees it exactly as it would see a redelivery after a lost ack.
            await js.publish(layout.payment_subject(layout.partition_of(again.customer)), payment_to_json(again))
            await wait_for(lambda: worker.stats.already_decided == 1, 15, "the copy acknowledged")
            return await read_decisions(js, layout), worker

    decisions, worker = asyncio.run(scenario())
    assert worker.stats.decided == len(payments)
    assert sorted(d["transaction_id"] for d in decisions) == sorted(p.tx_id for p in payments)
    counts = ledger_decisions(ledger)
    assert len(counts) == len(payments)
    assert set(counts.values()) == {1}
    mine = next(d for d in decisions if d["transaction_id"] == again.tx_id)
    assert ledger.entry(int(mine["audit_index"])).fields["subject"] == f"payment:{again.tx_id}"  # type: ignore[call-overload]


def test_a_crash_after_the_ledger_append_is_reconciled_not_decided_twice(
    nats_url: str, tiny_fraud_model: Path, ledger: Ledger
) -> None:
    payments = generated(1, customers=40)[:80]
    layout = unique_layout(partitions=2, lease_s=2.0, ack_wait_s=4.0)
    victim = payments[10]
    number = layout.partition_of(victim.customer)

    async def scenario() -> tuple[list[dict[str, object]], NatsWorker, int]:
        async with jetstream(nats_url, layout) as js:
            await publish_payments(js, layout, payments)
            # What a worker killed between "ledger append" and "publish decision" leaves behind:
            # the batch's intent and the decision entry, and no decision message.
            state = await js.key_value(layout.state_bucket)
            await state.put(f"i.{number}", orjson.dumps({"from": ledger.size, "txs": [victim.tx_id]}))
            dead = FraudService(Scorer(FeatureEngine(), load_artifact(tiny_fraud_model)), POLICY, ledger)
            _, index = dead.score(victim)
            async with running(js, layout, ledger, tiny_fraud_model, "w2") as worker:
                await wait_for(
                    lambda: worker.stats.decided + worker.stats.already_decided == len(payments), 30, "all done"
                )
                return await read_decisions(js, layout), worker, index

    decisions, worker, index = asyncio.run(scenario())
    assert worker.stats.recovered == 1
    assert worker.stats.already_decided == 1
    assert worker.stats.decided == len(payments) - 1
    assert len(decisions) == len(payments)
    recovered = [d for d in decisions if d["recovered"]]
    assert [d["transaction_id"] for d in recovered] == [victim.tx_id]
    assert recovered[0]["audit_index"] == index
    counts = ledger_decisions(ledger)
    assert counts[f"payment:{victim.tx_id}"] == 1
    assert len(counts) == len(payments)
    assert set(counts.values()) == {1}


def test_a_malformed_message_is_audited_and_dropped(nats_url: str, tiny_fraud_model: Path, ledger: Ledger) -> None:
    layout = unique_layout(partitions=1, lease_s=2.0, ack_wait_s=4.0)

    async def scenario() -> NatsWorker:
        async with jetstream(nats_url, layout) as js, running(js, layout, ledger, tiny_fraud_model, "w1") as worker:
            await js.publish(layout.payment_subject(0), b'{"transaction_id": "x1", "amount": -5}')
            await wait_for(lambda: worker.stats.rejected == 1, 15, "the rejection")
            return worker

    worker = asyncio.run(scenario())
    assert worker.stats.decided == 0
    rejects = [e.fields for e in ledger.tail(100) if e.fields["kind"] == "fraud.reject"]
    assert len(rejects) == 1
    assert rejects[0]["outcome"] == "rejected"
    assert rejects[0]["subject"] == f"nats:{layout.payments_stream}/1"


def test_partitions_are_shared_and_handed_over_on_a_clean_stop(
    nats_url: str, tiny_fraud_model: Path, ledger: Ledger
) -> None:
    layout = unique_layout(partitions=6, lease_s=2.0, ack_wait_s=4.0)
    first, second = generated(2, customers=80)[:300], generated(2, customers=80, seed=9)[:200]
    second = [p.__class__("b" + p.tx_id, p.time + 2 * 86_400, p.customer, p.terminal, p.amount) for p in second]

    async def scenario() -> tuple[list[int], list[int], list[int], int]:
        async with jetstream(nats_url, layout) as js, running(js, layout, ledger, tiny_fraud_model, "a") as a:
            async with running(js, layout, ledger, tiny_fraud_model, "b") as b:
                await wait_for(lambda: len(a.partitions) + len(b.partitions) == 6, 15, "all partitions owned")
                await wait_for(lambda: len(a.partitions) == len(b.partitions) == 3, 15, "an even split")
                split = (a.partitions, b.partitions)
                # Reaching the even split may itself have cost b a release (it held 4, gave one back):
                # what the clean stop hands over is counted from here.
                released_before_stop = b.stats.released
                await publish_payments(js, layout, first)
                await wait_for(lambda: a.stats.decided + b.stats.decided == len(first), 30, "the first half")
            # b stopped cleanly: its partitions come to a with their feature snapshots.
            await wait_for(lambda: len(a.partitions) == 6, 15, "a takes everything over")
            await publish_payments(js, layout, second)
            total = len(first) + len(second)
            await wait_for(lambda: a.stats.decided + b.stats.decided == total, 30, "the second half")
            return split[0], split[1], a.partitions, b.stats.released - released_before_stop

    in_a, in_b, finally_a, released = asyncio.run(scenario())
    assert sorted(in_a + in_b) == list(range(6))
    assert finally_a == list(range(6))
    assert released == 3
    counts = ledger_decisions(ledger)
    assert len(counts) == len(first) + len(second)
    assert set(counts.values()) == {1}


@pytest.mark.parametrize("snapshot", [True, False], ids=["from-snapshot", "replayed-from-the-stream"])
def test_a_new_owner_scores_as_if_nothing_had_moved(
    nats_url: str, tiny_fraud_model: Path, ledger: Ledger, tmp_path: Path, snapshot: bool
) -> None:
    """The windows survive a hand-over: restored from the snapshot, or rebuilt from acknowledged payments."""
    payments = generated(3, customers=40)
    half = len(payments) // 2
    layout = unique_layout(partitions=1, lease_s=2.0, ack_wait_s=4.0)

    async def scenario() -> list[dict[str, object]]:
        async with jetstream(nats_url, layout) as js:
            async with running(js, layout, ledger, tiny_fraud_model, "first") as first:
                await publish_payments(js, layout, payments[:half])
                await wait_for(lambda: first.stats.decided == half, 30, "the first half")
            if not snapshot:
                await (await js.object_store(layout.snapshots_bucket)).delete("p0")
            async with running(js, layout, ledger, tiny_fraud_model, "second") as second:
                await publish_payments(js, layout, payments[half:])
                await wait_for(lambda: second.stats.decided == len(payments) - half, 30, "the second half")
            return await read_decisions(js, layout)

    decisions = {str(d["transaction_id"]): d for d in asyncio.run(scenario())}
    # The same payments through one service that never moved, on a ledger of its own.
    with open_ledger(Settings(data_dir=tmp_path / "reference")) as reference_ledger:
        alone = FraudService(Scorer(FeatureEngine(), load_artifact(tiny_fraud_model)), POLICY, reference_ledger)
        expected = {p.tx_id: alone.score(p)[0] for p in payments}
    assert {d["worker"] for d in decisions.values()} == {"first", "second"}
    for tx, decision in expected.items():
        assert decisions[tx]["score"] == decision.score, tx
        assert decisions[tx]["decision"] == decision.action, tx


class PublishFailsOnce(NatsWorker):
    """A worker whose first decision publish for ``FAIL_TX`` times out, after the ledger append."""

    FAIL_TX = "tx25"
    failed = False

    async def _publish(self, number: int, tx_id: str, *args: Any, **kwargs: Any) -> None:
        if tx_id == self.FAIL_TX and not self.failed:
            self.failed = True
            raise nats.errors.TimeoutError
        await super()._publish(number, tx_id, *args, **kwargs)


def test_a_failed_publish_after_the_append_is_recovered_by_the_next_owner(
    nats_url: str, tiny_fraud_model: Path, ledger: Ledger
) -> None:
    payments = generated(1, customers=40)[:60]
    assert PublishFailsOnce.FAIL_TX in {p.tx_id for p in payments}
    layout = unique_layout(partitions=1, lease_s=2.0, ack_wait_s=4.0)

    async def scenario() -> tuple[list[dict[str, object]], NatsWorker]:
        async with (
            jetstream(nats_url, layout) as js,
            running(js, layout, ledger, tiny_fraud_model, "w1", PublishFailsOnce) as worker,
        ):
            await publish_payments(js, layout, payments)
            await wait_for(lambda: worker.stats.decided == len(payments) - 1, 45, "the rest decided")
            await wait_for(lambda: worker.stats.recovered == 1, 15, "the failed one recovered")
            return await read_decisions(js, layout), worker

    decisions, worker = asyncio.run(scenario())
    assert worker.stats.claimed == 2  # the partition was handed back and taken again
    assert sorted(str(d["transaction_id"]) for d in decisions) == sorted(p.tx_id for p in payments)
    recovered = [d for d in decisions if d["recovered"]]
    assert [d["transaction_id"] for d in recovered] == [PublishFailsOnce.FAIL_TX]
    counts = ledger_decisions(ledger)
    assert len(counts) == len(payments)
    assert set(counts.values()) == {1}
    assert ledger.entry(int(recovered[0]["audit_index"])).fields["subject"] == f"payment:{PublishFailsOnce.FAIL_TX}"  # type: ignore[call-overload]
