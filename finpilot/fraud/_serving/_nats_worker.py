"""NATS mode, part two: a scorer worker that owns partitions, decides each payment once, and hands over.

How a worker keeps "exactly one decision per payment" with at-least-once delivery (the full
argument is in docs/fraud.md, "NATS mode"):

1. A partition is worked by the one worker holding its lease (a KV entry that expires unless
   renewed). A worker starts no batch unless its lease was renewed within half the lease time.
2. Before deciding a batch it records an *intent*: the ledger's size and the batch's transaction
   ids. The ledger only grows, so any decision entry those payments get lies at or after that size.
3. For each payment it first looks up the decisions stream by the payment's subject; a decision
   found there is acknowledged, not made again.
4. Otherwise it scores, appends the ``fraud.decision`` entry, publishes the decision (with
   ``Nats-Msg-Id``) and only then acknowledges the payment.
5. A worker that takes a partition over first reconciles the intent: a payment of the last batch
   with a ledger entry but no decision message gets its message published from the entry
   (``"recovered": true``), so a crash between the append and the publish decides nothing twice.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import logging
import math
import random
import re
import time
from dataclasses import dataclass, field, replace
from typing import Any

import nats.errors
import orjson
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.errors import KeyNotFoundError, KeyWrongLastSequenceError, NoKeysError, NotFoundError, ObjectNotFoundError
from nats.js.kv import KeyValue
from nats.js.object_store import ObjectStore

from finpilot.audit import Ledger, is_system_entry
from finpilot.audit.kinds import FRAUD_DECISION, FRAUD_REJECT
from finpilot.core import FinpilotError, InputError
from finpilot.fraud._features._engine import FeatureEngine
from finpilot.fraud._models._artifact import ModelArtifact
from finpilot.fraud._payment import Payment
from finpilot.fraud._policy import DecisionPolicy, FraudDecision
from finpilot.fraud._scorer import Scorer
from finpilot.fraud._serving._nats_layout import NatsLayout, ensure_jetstream
from finpilot.fraud._serving._service import ACTOR, FraudService, decision_of, decision_rows
from finpilot.fraud._serving._wire import payment_from_json

_log = logging.getLogger("finpilot.fraud.nats")
_WORKER_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")
_SCAN_CHUNK = 1000


class _PartitionService(FraudService):
    """A :class:`FraudService` whose account and time state can be carried to another worker."""

    def snapshot_state(self) -> tuple[str, dict[str, Any]]:
        """The feature engine's snapshot (base64: version 3 is binary) and the carried account state."""
        with self._lock:
            raw = self.scorer.engine.snapshot()
            carried = {"frozen": sorted(self._frozen), "latest": self._latest}
        # Encoded after the lock: scoring waits for the copy only, not for a third more bytes of text.
        return base64.b64encode(raw).decode("ascii"), carried

    def carry_in(self, state: dict[str, Any]) -> None:
        with self._lock:
            self._frozen.update(str(c) for c in state.get("frozen", ()))
            self._latest = max(self._latest, int(state.get("latest", 0)))

    def feed(self, payment: Payment) -> None:
        """Count a payment another worker already decided in the windows, without deciding it again."""
        with self._lock:
            used = payment if payment.time >= self._latest else replace(payment, time=self._latest)
            self.scorer.engine.update_and_features(used)
            self._latest = used.time


@dataclass
class _Partition:
    number: int
    revision: int
    renewed_at: float
    service: _PartitionService
    fed_seq: int  # the stream sequence of the last payment in the feature state
    snapshot_at: float = field(default_factory=time.monotonic)
    stopping: bool = False
    lost: bool = False
    failed: bool = False
    task: asyncio.Task[None] | None = None


@dataclass
class WorkerStats:
    """What one worker did since it started."""

    decided: int = 0
    already_decided: int = 0
    recovered: int = 0
    rejected: int = 0
    claimed: int = 0
    released: int = 0
    lost: int = 0


class NatsWorker:
    """One scorer worker of the NATS mode: run several with distinct ids against one layout.

    The partitions are shared out evenly among the live workers. A worker that stops cleanly
    (``stop`` set) snapshots its partitions and gives their leases back at once; one that dies
    loses them when the leases expire, and the survivors take them over.
    """

    def __init__(
        self,
        js: JetStreamContext,
        layout: NatsLayout,
        *,
        worker_id: str,
        artifact: ModelArtifact,
        policy: DecisionPolicy,
        ledger: Ledger,
        snapshot_every_s: float = 5.0,
    ) -> None:
        if not _WORKER_ID.fullmatch(worker_id):
            raise InputError("the worker id must be 1-64 letters, digits, '_' or '-'", field="worker_id")
        self.js = js
        self.layout = layout
        self.worker_id = worker_id
        self.artifact = artifact
        self.policy = policy
        self.ledger = ledger
        self.snapshot_every_s = snapshot_every_s
        self.stats = WorkerStats()
        self._owned: dict[int, _Partition] = {}
        self._leases: KeyValue | None = None
        self._state: KeyValue | None = None
        self._snapshots: ObjectStore | None = None

    @property
    def partitions(self) -> list[int]:
        """The partitions this worker holds now."""
        return sorted(self._owned)

    async def run(self, stop: asyncio.Event) -> None:
        """Work until ``stop`` is set, then hand every partition back and return."""
        await ensure_jetstream(self.js, self.layout)
        self._leases = await self.js.key_value(self.layout.leases_bucket)
        self._state = await self.js.key_value(self.layout.state_bucket)
        self._snapshots = await self.js.object_store(self.layout.snapshots_bucket)
        tick = self.layout.lease_s / 3
        try:
            await self._leases.put(self._member_key, b"")
            # Let workers started together see each other before anyone claims, so the
            # partitions are not all claimed by the first and then handed over.
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), tick)
            while not stop.is_set():
                try:
                    await self._tick()
                except (nats.errors.Error, OSError) as exc:
                    # A slow or reconnecting server: try again next tick. Leases not renewed in
                    # time are lost, and the partitions' tasks stop on their own.
                    _log.warning("worker %s: lease round failed (%s)", self.worker_id, exc)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), tick)
        finally:
            for number in list(self._owned):
                await self._release(number)
            with contextlib.suppress(Exception):  # leaving is best effort: the entry expires anyway
                await self._leases.delete(self._member_key)

    @property
    def _member_key(self) -> str:
        return f"w.{self.worker_id}"

    async def _tick(self) -> None:
        assert self._leases is not None
        await self._leases.put(self._member_key, b"")
        await self._renew()
        try:
            live = sum(1 for key in await self._leases.keys() if key.startswith("w."))
        except NoKeysError:
            live = 0
        share = math.ceil(self.layout.partitions / max(live, 1))
        while len(self._owned) > share:
            await self._release(max(self._owned))
        free = [n for n in range(self.layout.partitions) if n not in self._owned]
        random.shuffle(free)  # workers racing for the same free partitions mostly miss each other
        for number in free:
            if len(self._owned) >= share:
                break
            try:
                revision = await self._leases.create(f"p.{number}", self.worker_id.encode())
            except KeyWrongLastSequenceError:
                continue
            await self._claim(number, revision)
            await self._renew()  # a take-over can take a while; keep the other leases alive

    async def _renew(self) -> None:
        assert self._leases is not None
        for part in list(self._owned.values()):
            if part.failed:
                self._owned.pop(part.number)
                with contextlib.suppress(Exception):  # the lease expires anyway
                    await self._leases.delete(f"p.{part.number}", last=part.revision)
                continue
            try:
                part.revision = await self._leases.update(
                    f"p.{part.number}", self.worker_id.encode(), last=part.revision
                )
                part.renewed_at = time.monotonic()
            except (KeyWrongLastSequenceError, KeyNotFoundError):
                _log.warning("worker %s lost partition %d", self.worker_id, part.number)
                part.lost = True
                self.stats.lost += 1
                # Not cancelled: a decision being made finishes and is published, so the new owner
                # finds it; the task stops before the next payment.
                self._owned.pop(part.number)

    async def _claim(self, number: int, revision: int) -> None:
        assert self._snapshots is not None
        engine, carried, fed_seq = FeatureEngine(), {}, 0
        try:
            snapshot = orjson.loads((await self._snapshots.get(f"p{number}")).data or b"{}")
            # "engine" is the JSON text of a version 1 or 2 snapshot, written before version 3 was binary.
            raw = base64.b64decode(snapshot["engine_b64"]) if "engine_b64" in snapshot else snapshot["engine"].encode()
            engine = FeatureEngine.restore(raw)
            carried, fed_seq = snapshot["carried"], int(snapshot["seq"])
        except ObjectNotFoundError:
            pass
        except (orjson.JSONDecodeError, KeyError, TypeError, ValueError, FinpilotError) as exc:
            # Start empty: the catch-up below then replays the partition's whole acknowledged history.
            _log.warning("partition %d: unusable snapshot (%s); rebuilding the windows", number, exc)
            engine, carried, fed_seq = FeatureEngine(), {}, 0
        service = _PartitionService(Scorer(engine, self.artifact), self.policy, self.ledger, remember=100_000)
        service.carry_in(carried)
        part = _Partition(number, revision, time.monotonic(), service, fed_seq)
        self._owned[number] = part
        self.stats.claimed += 1
        part.task = asyncio.create_task(self._consume(part), name=f"fraud-partition-{number}")
        _log.info("worker %s claimed partition %d (features from seq %d)", self.worker_id, number, fed_seq)

    async def _release(self, number: int) -> None:
        assert self._leases is not None
        part = self._owned.pop(number)
        part.stopping = True
        if part.task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await part.task
        if not part.lost:
            await self._snapshot(part)
            with contextlib.suppress(Exception):  # the lease expires anyway
                await self._leases.delete(f"p.{number}", last=part.revision)
        self.stats.released += 1

    async def _snapshot(self, part: _Partition) -> None:
        assert self._snapshots is not None
        engine, carried = await asyncio.to_thread(part.service.snapshot_state)
        doc = {"engine_b64": engine, "carried": carried, "seq": part.fed_seq}
        await self._snapshots.put(f"p{part.number}", orjson.dumps(doc))
        part.snapshot_at = time.monotonic()

    async def _catch_up(self, part: _Partition) -> None:
        """Count in the windows the payments acknowledged after the snapshot was taken."""
        info = await self.js.consumer_info(self.layout.payments_stream, f"p{part.number}")
        floor = info.ack_floor.stream_seq if info.ack_floor and info.ack_floor.stream_seq else 0
        subject = self.layout.payment_subject(part.number)
        while part.fed_seq < floor:
            try:
                raw = await self.js.get_msg(self.layout.payments_stream, part.fed_seq + 1, subject=subject, next=True)
            except NotFoundError:
                break
            if raw.seq is None or raw.seq > floor:
                break
            with contextlib.suppress(FinpilotError):
                part.service.feed(payment_from_json(orjson.loads(raw.data or b"")))
            part.fed_seq = raw.seq

    async def _reconcile(self, part: _Partition) -> None:
        """Publish the decision of any payment of the last intent that is in the ledger but not in the stream."""
        assert self._state is not None
        try:
            intent = orjson.loads((await self._state.get(f"i.{part.number}")).value or b"{}")
        except KeyNotFoundError:
            return
        missing = [tx for tx in intent.get("txs", []) if await self._decided(part.number, tx) is None]
        if not missing:
            return
        found = await asyncio.to_thread(_find_decisions, self.ledger, set(missing), int(intent.get("from", 0)))
        for tx, (index, fields) in found.items():
            (_, _, customer, _, _), row = decision_rows(index, fields)
            await self._publish(part.number, tx, customer, decision_of(row), index, recovered=True)
            self.stats.recovered += 1

    async def _decided(self, number: int, tx_id: str) -> dict[str, Any] | None:
        try:
            raw = await self.js.get_last_msg(self.layout.decisions_stream, self.layout.decision_subject(number, tx_id))
        except NotFoundError:
            return None
        found: dict[str, Any] = orjson.loads(raw.data or b"{}")
        return found

    async def _publish(
        self, number: int, tx_id: str, customer: str, decision: FraudDecision, index: int, *, recovered: bool = False
    ) -> None:
        body = {
            "transaction_id": tx_id,
            "customer_id": customer,
            "partition": number,
            **decision.to_json(),
            "audit_index": index,
            "worker": self.worker_id,
            "recovered": recovered,
        }
        await self.js.publish(
            self.layout.decision_subject(number, tx_id), orjson.dumps(body), headers={"Nats-Msg-Id": tx_id}
        )

    def _lease_fresh(self, part: _Partition) -> bool:
        # Half the lease: the lease may have been written a round trip before we saw the reply.
        return time.monotonic() - part.renewed_at < self.layout.lease_s / 2

    def _may_work(self, part: _Partition) -> bool:
        return self._lease_fresh(part) and not part.stopping and not part.lost

    async def _consume(self, part: _Partition) -> None:
        # Taking over happens here, not in the lease loop, so a long catch-up never delays renewals.
        try:
            await self._reconcile(part)
            await self._catch_up(part)
            sub = await self.js.pull_subscribe_bind(f"p{part.number}", self.layout.payments_stream)
        except Exception as exc:  # as below: never hold a lease without working the partition
            _log.warning("partition %d: take-over failed (%r); handing the partition back", part.number, exc)
            part.failed = part.lost = True
            return
        try:
            while not part.stopping and not part.lost:
                if not self._may_work(part):
                    await asyncio.sleep(self.layout.lease_s / 10)
                    continue
                try:
                    msgs = await sub.fetch(self.layout.batch, timeout=0.5)
                except TimeoutError:
                    msgs = []
                try:
                    if msgs:
                        await self._work(part, msgs)
                    if time.monotonic() - part.snapshot_at >= self.snapshot_every_s and not part.lost:
                        await self._snapshot(part)
                except Exception as exc:  # whatever it is, a task that died holding its lease would stall the partition
                    # Give the partition up as if this worker had crashed: whoever claims it next
                    # (this worker included) restores the snapshot, reconciles the intent and gets
                    # every unacknowledged payment again. Nothing is lost or decided twice.
                    _log.warning("partition %d: batch failed (%r); handing the partition back", part.number, exc)
                    part.failed = part.lost = True
        finally:
            with contextlib.suppress(Exception):
                await sub.unsubscribe()

    async def _work(self, part: _Partition, msgs: list[Msg]) -> None:
        assert self._state is not None
        parsed: list[tuple[Msg, Payment | None]] = []
        for msg in msgs:
            try:
                parsed.append((msg, payment_from_json(orjson.loads(msg.data))))
            except (orjson.JSONDecodeError, FinpilotError):
                parsed.append((msg, None))
        if not self._may_work(part):
            return  # not acknowledged: they come back to whoever holds the partition
        size = await asyncio.to_thread(lambda: self.ledger.size)
        intent = {"from": size, "txs": [p.tx_id for _, p in parsed if p is not None]}
        await self._state.put(f"i.{part.number}", orjson.dumps(intent))
        # One round trip for the whole batch: nobody else decides this partition's payments meanwhile.
        known = await asyncio.gather(*(self._decided(part.number, p.tx_id) for _, p in parsed if p is not None))
        done = {p.tx_id for p, found in zip((p for _, p in parsed if p is not None), known, strict=True) if found}
        for msg, payment in parsed:
            if part.lost or not self._lease_fresh(part):
                return
            seq = msg.metadata.sequence.stream
            if payment is None:
                await self._reject(part, msg, "not a payment")
                continue
            if payment.tx_id in done:
                if seq > part.fed_seq:
                    await asyncio.to_thread(part.service.feed, payment)
                    part.fed_seq = seq
                self.stats.already_decided += 1
                await msg.ack()
                continue
            try:
                decision, index = await asyncio.to_thread(part.service.score, payment)
            except InputError as exc:
                await self._reject(part, msg, exc.message)
                continue
            part.fed_seq = max(part.fed_seq, seq)
            await self._publish(part.number, payment.tx_id, payment.customer, decision, index)
            await msg.ack()
            self.stats.decided += 1

    async def _reject(self, part: _Partition, msg: Msg, why: str) -> None:
        """Audit and drop a message that cannot be decided (redelivering it would not help)."""
        seq = msg.metadata.sequence.stream
        entry = FRAUD_REJECT.entry(
            actor=ACTOR,
            action="drop",
            subject=f"nats:{self.layout.payments_stream}/{seq}",
            outcome="rejected",
            evidence={"partition": part.number, "reason": why[:200], "worker": self.worker_id},
        )
        await asyncio.to_thread(self.ledger.append, entry)
        await msg.term()
        self.stats.rejected += 1


def _find_decisions(ledger: Ledger, txs: set[str], start: int) -> dict[str, tuple[int, dict[str, Any]]]:
    """The ``fraud.decision`` entries of ``txs`` at index ``start`` or later, newest scanned first."""
    wanted = {f"payment:{tx}": tx for tx in txs}
    found: dict[str, tuple[int, dict[str, Any]]] = {}
    end = ledger.size
    while end > start and len(found) < len(wanted):
        chunk = ledger.tail(min(_SCAN_CHUNK, end - start), before=end)
        for stored in chunk:
            fields = stored.fields
            tx = wanted.get(fields.get("subject", ""))
            if tx is not None and fields.get("kind") == FRAUD_DECISION.name and is_system_entry(fields):
                found.setdefault(tx, (stored.index, fields))
        end -= len(chunk)
        if not chunk:
            break
    return found
