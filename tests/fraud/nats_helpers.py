"""Helpers for the NATS-mode tests: a reachable server, a unique layout, payments, and counts.

Every test gets its own prefix, so its streams and buckets never meet another test's or a
later run's, and it deletes them at the end.
"""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from nats.js import JetStreamContext

from finpilot.audit import Ledger
from finpilot.fraud import NatsLayout, Payment, connect_nats, ensure_jetstream, iter_payments
from finpilot.fraud._serving._nats_layout import delete_jetstream

T0 = 1_522_540_800  # 2018-04-01 00:00:00 UTC


def unique_layout(**kwargs: object) -> NatsLayout:
    """A layout with a prefix no other test or run uses."""
    return NatsLayout(prefix="t" + uuid.uuid4().hex[:12], **kwargs)  # type: ignore[arg-type]


def generated(days: int, *, customers: int = 300, seed: int = 5) -> list[Payment]:
    """Seeded synthetic payments in time order, as the engine sees them."""
    return [
        Payment(f"tx{p.tx_id}", T0 + p.seconds, f"c{p.customer}", f"t{p.terminal}", p.amount)
        for p in iter_payments(customers=customers, terminals=200, days=days, seed=seed)
    ]


@asynccontextmanager
async def jetstream(url: str, layout: NatsLayout) -> AsyncIterator[JetStreamContext]:
    """A JetStream context with ``layout`` created, and deleted afterwards."""
    nc = await connect_nats(url)
    js = nc.jetstream()
    try:
        await ensure_jetstream(js, layout)
        yield js
    finally:
        await delete_jetstream(js, layout)
        await nc.close()


async def wait_for(check: Callable[[], object], timeout: float, what: str) -> None:
    """Poll an async or plain check until it is truthy; AssertionError after ``timeout`` seconds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        value = check()
        if asyncio.iscoroutine(value):
            value = await value
        if value:
            return
        if loop.time() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        await asyncio.sleep(0.2)


async def decision_count(js: JetStreamContext, layout: NatsLayout) -> int:
    """Messages in the decisions stream."""
    return int((await js.stream_info(layout.decisions_stream)).state.messages)


def ledger_decisions(ledger: Ledger) -> Counter[str]:
    """``fraud.decision`` entries per subject (``payment:<tx>``) over the whole ledger."""
    counts: Counter[str] = Counter()
    end = ledger.size
    while end > 0:
        chunk = ledger.tail(min(10_000, end), before=end)
        for stored in chunk:
            fields = stored.fields
            if fields["kind"] == "fraud.decision":
                counts[fields["subject"]] += 1
        end -= len(chunk)
    return counts
