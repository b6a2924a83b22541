"""NATS mode, part one: names, partitions, the JetStream objects and the payment publisher.

One prefix names everything a deployment (or a test) keeps in JetStream, so several can share
a server without meeting:

- stream ``<PREFIX>_PAYMENTS`` on ``<prefix>.payments.<partition>``; a payment's partition is a
  stable hash of its customer id, and it is published with ``Nats-Msg-Id`` = its transaction id,
  so a publisher that retries is deduplicated by JetStream;
- stream ``<PREFIX>_DECISIONS`` on ``<prefix>.decisions.<partition>.<transaction>``: one subject per
  payment, which makes the stream its own idempotency index (a lookup by subject answers "was
  this payment decided?");
- one durable pull consumer per partition (``p<n>``) on the payments stream;
- KV ``<prefix>_leases`` (entries expire after the lease time): partition leases and live workers;
- KV ``<prefix>_state``: the partition count and each partition's decision intent;
- object store ``<prefix>_snapshots``: each partition's feature state.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import nats
import nats.errors
import orjson
from nats.aio.client import Client as NATS
from nats.js import JetStreamContext, api
from nats.js.errors import BadRequestError, KeyWrongLastSequenceError, NotFoundError

from finpilot.core import ConfigError, InputError, StorageError
from finpilot.fraud._payment import Payment

_PREFIX = re.compile(r"[a-z][a-z0-9_]{0,31}")
_PLAIN_TOKEN = re.compile(r"[A-Za-z0-9_:-]+")
_PUBLISH_WINDOW = 256  # publishes in flight at once


@dataclass(frozen=True)
class NatsLayout:
    """Where the NATS mode keeps things, and how the work is cut.

    ``prefix`` names every stream, bucket and subject (lower-case letters, digits and ``_``).
    ``partitions`` is fixed for the life of the streams: the first worker or publisher records
    it, and a later one with another count is refused. ``lease_s`` is how long a dead worker's
    partitions stay claimed; ``ack_wait_s`` how long a payment handed to a worker waits for its
    acknowledgement before it is delivered again; ``batch`` how many a worker takes at once.
    """

    prefix: str = "finpilot"
    partitions: int = 12
    lease_s: float = 3.0
    ack_wait_s: float = 5.0
    batch: int = 32

    def __post_init__(self) -> None:
        if not _PREFIX.fullmatch(self.prefix):
            raise InputError(
                "the NATS prefix must be 1-32 lower-case letters, digits or '_', starting with a letter",
                field="prefix",
            )
        if (
            isinstance(self.partitions, bool)
            or not isinstance(self.partitions, int)
            or not 1 <= self.partitions <= 1024
        ):
            raise InputError("partitions must be an integer from 1 to 1024", field="partitions")
        if not 0.5 <= self.lease_s <= 300:
            raise InputError("the lease must be 0.5 to 300 seconds", field="lease_s")
        if not self.lease_s <= self.ack_wait_s <= 3600:
            raise InputError("ack_wait_s must be at least the lease time (and at most an hour)", field="ack_wait_s")
        if not 1 <= self.batch <= 1024:
            raise InputError("batch must be 1 to 1024", field="batch")

    @property
    def payments_stream(self) -> str:
        """The payments stream's name."""
        return f"{self._upper}_PAYMENTS"

    @property
    def decisions_stream(self) -> str:
        """The decisions stream's name."""
        return f"{self._upper}_DECISIONS"

    @property
    def leases_bucket(self) -> str:
        """The KV bucket of partition leases and live workers."""
        return f"{self._upper}_leases"

    @property
    def state_bucket(self) -> str:
        """The KV bucket of the partition count and decision intents."""
        return f"{self._upper}_state"

    @property
    def snapshots_bucket(self) -> str:
        """The object store of partition feature snapshots."""
        return f"{self._upper}_snapshots"

    @property
    def _upper(self) -> str:
        return self.prefix.upper()

    def payment_subject(self, partition: int) -> str:
        """The subject payments of ``partition`` are published on."""
        return f"{self.prefix}.payments.{partition}"

    def decision_subject(self, partition: int, tx_id: str) -> str:
        """The subject of one payment's decision."""
        return f"{self.prefix}.decisions.{partition}.{subject_token(tx_id)}"

    def decisions_wildcard(self) -> str:
        """A subject filter matching every decision."""
        return f"{self.prefix}.decisions.>"

    def partition_of(self, customer_id: str) -> int:
        """The partition of a customer's payments."""
        return partition_for(customer_id, self.partitions)


def partition_for(customer_id: str, partitions: int) -> int:
    """A stable partition for ``customer_id``: the same in every process, release and machine.

    Python's ``hash`` is salted per process, so a keyed BLAKE2b digest is used instead.
    """
    digest = hashlib.blake2b(customer_id.encode(), digest_size=8, person=b"finpilot.part").digest()
    return int.from_bytes(digest, "big") % partitions


def subject_token(tx_id: str) -> str:
    """``tx_id`` as one subject token: itself when it is plain, else ``=`` and its UTF-8 in hex.

    A plain id never starts with ``=``, so two ids never share a token.
    """
    if _PLAIN_TOKEN.fullmatch(tx_id):
        return tx_id
    return "=" + tx_id.encode().hex()


def payment_to_json(payment: Payment) -> bytes:
    """The wire form of a payment (the body ``POST /api/v1/fraud/scores`` takes, time as epoch seconds)."""
    return orjson.dumps(
        {
            "transaction_id": payment.tx_id,
            "time": payment.time,
            "customer_id": payment.customer,
            "terminal_id": payment.terminal,
            "amount": payment.amount,
        }
    )


async def ensure_jetstream(js: JetStreamContext, layout: NatsLayout) -> None:
    """Create the streams, buckets and consumers of ``layout`` where missing (safe to call from many processes).

    ConfigError when the streams were created with another partition count.
    """
    await js.add_stream(
        api.StreamConfig(
            name=layout.payments_stream,
            subjects=[f"{layout.prefix}.payments.*"],
            storage=api.StorageType.FILE,
            duplicate_window=120.0,
        )
    )
    await js.add_stream(
        api.StreamConfig(
            name=layout.decisions_stream,
            subjects=[layout.decisions_wildcard()],
            storage=api.StorageType.FILE,
            duplicate_window=600.0,
        )
    )
    await js.create_key_value(api.KeyValueConfig(bucket=layout.leases_bucket, ttl=layout.lease_s))
    state = await js.create_key_value(api.KeyValueConfig(bucket=layout.state_bucket))
    await js.create_object_store(layout.snapshots_bucket)
    try:
        await state.create("partitions", str(layout.partitions).encode())
    except KeyWrongLastSequenceError:
        recorded = int((await state.get("partitions")).value or b"0")
        if recorded != layout.partitions:
            raise ConfigError(
                f"the streams under prefix '{layout.prefix}' were created with {recorded} partitions, not "
                f"{layout.partitions}",
                field="partitions",
                fix=f"use --partitions {recorded}, or another prefix",
            ) from None
    for partition in range(layout.partitions):
        await js.add_consumer(
            layout.payments_stream,
            api.ConsumerConfig(
                durable_name=f"p{partition}",
                filter_subject=layout.payment_subject(partition),
                ack_policy=api.AckPolicy.EXPLICIT,
                deliver_policy=api.DeliverPolicy.ALL,
                ack_wait=layout.ack_wait_s,
                # No more in flight than one batch: after a crash the unacknowledged batch comes
                # back first, so a partition's payments are still decided in stream order.
                max_ack_pending=layout.batch,
                max_deliver=-1,
            ),
        )


async def delete_jetstream(js: JetStreamContext, layout: NatsLayout) -> None:
    """Delete everything ``layout`` created (tests and teardown); missing parts are skipped."""
    for stream in (layout.payments_stream, layout.decisions_stream):
        with contextlib.suppress(NotFoundError):
            await js.delete_stream(stream)
    for bucket in (layout.leases_bucket, layout.state_bucket):
        with contextlib.suppress(NotFoundError):
            await js.delete_key_value(bucket)
    with contextlib.suppress(NotFoundError, BadRequestError):
        await js.delete_object_store(layout.snapshots_bucket)


async def publish_payments(js: JetStreamContext, layout: NatsLayout, payments: Iterable[Payment]) -> int:
    """Publish payments to their partitions; the number JetStream stored (duplicates by transaction id are not).

    Each publish waits for JetStream's acknowledgement, so a payment counted here is durable.
    """
    stored = 0
    pending: list[asyncio.Task[Any]] = []

    async def drain() -> None:
        nonlocal stored
        for ack in await asyncio.gather(*pending):
            stored += 0 if ack.duplicate else 1
        pending.clear()

    for payment in payments:
        subject = layout.payment_subject(layout.partition_of(payment.customer))
        publish = js.publish(subject, payment_to_json(payment), headers={"Nats-Msg-Id": payment.tx_id})
        pending.append(asyncio.ensure_future(publish))
        if len(pending) >= _PUBLISH_WINDOW:
            await drain()
    await drain()
    return stored


async def read_decisions(js: JetStreamContext, layout: NatsLayout) -> list[dict[str, Any]]:
    """Every decision message in the decisions stream, oldest first (duplicates included, if any)."""
    info = await js.stream_info(layout.decisions_stream)
    last = info.state.last_seq
    found: list[dict[str, Any]] = []
    if info.state.messages == 0:
        return found
    sub = await js.subscribe(layout.decisions_wildcard(), stream=layout.decisions_stream, ordered_consumer=True)
    try:
        while True:
            msg = await sub.next_msg(timeout=5)
            found.append(orjson.loads(msg.data))
            if msg.metadata.sequence.stream >= last:
                break
    finally:
        await sub.unsubscribe()
    return found


async def connect_nats(url: str) -> NATS:
    """A connection to the NATS server at ``url``; StorageError when it cannot be reached.

    Once connected the client reconnects by itself, and JetStream keeps what was acknowledged.
    """
    try:
        # A first try that gives up at once: a client told to reconnect forever would also keep
        # retrying a server that was never there.
        probe = await nats.connect(
            url, connect_timeout=3, allow_reconnect=False, max_reconnect_attempts=1, reconnect_time_wait=0.2
        )
        await probe.close()
        return await nats.connect(url, connect_timeout=3, max_reconnect_attempts=-1, reconnect_time_wait=0.5)
    except (OSError, TimeoutError, nats.errors.Error) as exc:
        raise StorageError(
            f"cannot reach the NATS server at {url}: {type(exc).__name__}",
            field="nats",
            fix="start nats-server with JetStream enabled (-js), or pass --nats URL",
        ) from exc
