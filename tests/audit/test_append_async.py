"""``Ledger.append_async``: the same group commit as ``append``, awaited on an event loop, on both backends."""

from __future__ import annotations

import asyncio
import random
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from finpilot.audit import Entry, Ledger, open_ledger
from finpilot.core import InputError, SensitiveDataError, Settings, StorageError, luhn_test_card

MakeSettings = Callable[..., Settings]


def entry(subject: str, **evidence: Any) -> Entry:
    return Entry(
        kind="custom.async-test",
        actor="tester",
        action="append",
        subject=subject,
        outcome="ok",
        evidence=evidence or {"n": 1},
    )


@pytest.fixture
def ledger(backend_settings: MakeSettings) -> Iterator[Ledger]:
    with open_ledger(backend_settings()) as opened:
        yield opened


def test_append_async_returns_the_index_once_the_entry_is_durable(
    backend_settings: MakeSettings, ledger: Ledger
) -> None:
    async def go() -> list[int]:
        return list(await asyncio.gather(*(ledger.append_async(entry(f"item:{i}")) for i in range(20))))

    indices = asyncio.run(go())
    assert sorted(indices) == list(range(20))
    # Another connection on the same store sees every entry: they were committed before the await returned.
    with open_ledger(backend_settings()) as other:
        assert other.size == 20
        assert {other.entry(i).fields["subject"] for i in indices} == {f"item:{i}" for i in range(20)}
        assert all(other.entry(i).fields["subject"] == f"item:{n}" for n, i in enumerate(indices))


def test_refusals_raise_in_the_awaiting_coroutine_as_append_raises_them(ledger: Ledger) -> None:
    pan = luhn_test_card(random.Random(4))

    async def refused(bad: Entry) -> BaseException:
        with pytest.raises((InputError, SensitiveDataError)) as caught:
            await ledger.append_async(bad)
        return caught.value

    for bad in (
        entry("item:1", card=pan),
        Entry(kind="fraud.decision", actor="tester", action="approve", subject="payment:1", outcome="approve"),
        Entry(kind="no-such-kind", actor="tester", action="a", subject="s", outcome="ok"),
    ):
        got = asyncio.run(refused(bad))
        with pytest.raises(type(got)) as sync:
            ledger.append(bad)
        assert str(sync.value) == str(got)
        assert pan not in str(got)
    assert ledger.size == 0


def test_a_storage_error_raises_in_the_awaiting_coroutine(ledger: Ledger, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*_args: Any) -> None:
        raise OSError("disk on fire")

    monkeypatch.setattr(ledger.store, "write_entries", broken)

    async def go() -> None:
        await ledger.append_async(entry("item:1"))

    with pytest.raises(StorageError, match="disk on fire"):
        asyncio.run(go())
    monkeypatch.undo()
    assert asyncio.run(ledger.append_async(entry("item:2"))) == 0  # the writer recovered; nothing half-written
    assert ledger.verify().ok


def test_waiting_holds_no_thread(ledger: Ledger) -> None:
    # 200 coroutines waiting on one loop: only the loop's thread and the ledger's writer exist.
    before = threading.active_count()

    async def go() -> list[int]:
        return list(await asyncio.gather(*(ledger.append_async(entry(f"item:{i}")) for i in range(200))))

    assert sorted(asyncio.run(go())) == list(range(200))
    assert threading.active_count() <= before + 1  # at most the writer, started by the first append


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    loops=st.lists(st.integers(min_value=0, max_value=25), min_size=1, max_size=3),
    threads=st.lists(st.integers(min_value=0, max_value=10), min_size=0, max_size=4),
)
def test_concurrent_async_and_sync_appends_make_one_clean_log(
    ledger: Ledger, loops: list[int], threads: list[int]
) -> None:
    start = ledger.size
    got: list[tuple[str, int]] = []
    got_lock = threading.Lock()

    def record(subject: str, index: int) -> None:
        with got_lock:
            got.append((subject, index))

    def run_loop(n_loop: int, count: int) -> None:
        async def one(i: int) -> None:
            subject = f"loop{n_loop}:{start}:{i}"
            record(subject, await ledger.append_async(entry(subject)))

        async def all_of_them() -> None:
            await asyncio.gather(*(one(i) for i in range(count)))

        asyncio.run(all_of_them())

    def run_thread(n_thread: int, count: int) -> None:
        for i in range(count):
            subject = f"thread{n_thread}:{start}:{i}"
            record(subject, ledger.append(entry(subject)))

    workers = [threading.Thread(target=run_loop, args=(n, c)) for n, c in enumerate(loops)]
    workers += [threading.Thread(target=run_thread, args=(n, c)) for n, c in enumerate(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()

    n = sum(loops) + sum(threads)
    assert ledger.size == start + n
    assert sorted(index for _s, index in got) == list(range(start, start + n))  # each index once, no gap
    for subject, index in got:
        assert ledger.entry(index).fields["subject"] == subject  # each caller got its own entry's index
    assert len({s for s, _i in got}) == n
    assert ledger.verify().ok
