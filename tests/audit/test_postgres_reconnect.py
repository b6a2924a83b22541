"""The PostgreSQL store rides through a lost connection: a write transaction is replayed once, never twice.

The store's own backend is terminated from a side connection at a chosen point of the
ledger's write transaction (the real server drops the real connection), then the test
checks the log: every acknowledged entry exactly once, the Merkle log verifying end to end,
and a log that moved or changed under a lost transaction refused instead of forked.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from finpilot.audit import Entry, Ledger
from finpilot.audit._postgres import PostgresStore
from finpilot.core import AuditSettings, IntegrityError, Settings, StorageError


class KillingStore(PostgresStore):
    """A PostgresStore whose connection is terminated just before ``write_entries`` or ``commit`` when armed."""

    def __init__(self, dsn: str, schema: str) -> None:
        super().__init__(dsn, schema, reconnect_s=10)
        self.side_dsn = dsn
        self.kill_at: str | None = None
        self.meanwhile: Callable[[], None] | None = None

    def _maybe_kill(self, point: str) -> None:
        if self.kill_at != point:
            return
        self.kill_at = None
        pid = self._connect().info.backend_pid
        with psycopg.connect(self.side_dsn, autocommit=True) as side:
            side.execute("SELECT pg_terminate_backend(%s)", (pid,))
            deadline = time.monotonic() + 10
            while side.execute("SELECT 1 FROM pg_stat_activity WHERE pid = %s", (pid,)).fetchone():
                assert time.monotonic() < deadline, "the backend did not go away"
                time.sleep(0.01)
        if self.meanwhile is not None:
            self.meanwhile()

    def write_entries(self, *args: object) -> None:  # type: ignore[override]
        self._maybe_kill("write")
        super().write_entries(*args)  # type: ignore[arg-type]
        self._entries_in_tx = True

    def commit(self) -> None:
        # Only the commit of an append: the ledger's own checkpoints commit too (the first one is
        # due at once when the machine has been up longer than checkpoint_interval_s).
        if getattr(self, "_entries_in_tx", False):
            self._maybe_kill("commit")
        self._entries_in_tx = False
        super().commit()

    def rollback(self) -> None:
        self._entries_in_tx = False
        super().rollback()


@pytest.fixture(scope="module")
def pg_dsn() -> str:
    """The shared conftest's DSN, but failing here, never skipping, when PostgreSQL is unreachable."""
    dsn = os.environ.get("FINPILOT_TEST_PG_DSN", "postgresql://postgres@127.0.0.1:5432/test")
    try:
        psycopg.connect(dsn, connect_timeout=5).close()
    except psycopg.Error as exc:
        pytest.fail(f"PostgreSQL at {dsn} is unreachable ({type(exc).__name__}); start it or set FINPILOT_TEST_PG_DSN")
    return dsn


def _entry(n: int) -> Entry:
    return Entry(kind="custom.test.append", actor="test", action="append", subject=f"item:{n}", outcome="ok")


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path, audit=AuditSettings(checkpoint_interval_s=3600))


@pytest.fixture
def ledger(pg_dsn: str, pg_schema: str, settings: Settings, tmp_path: Path) -> Iterator[Ledger]:
    with Ledger(KillingStore(pg_dsn, pg_schema), settings, keys_dir=tmp_path / "keys") as opened:
        yield opened


def _subjects(ledger: Ledger) -> list[str]:
    return [e.fields["subject"] for e in reversed(ledger.tail(100))]


@pytest.mark.postgres
@pytest.mark.parametrize("point", ["write", "commit"])
def test_a_transaction_cut_before_it_committed_is_replayed_once(ledger: Ledger, point: str) -> None:
    store = ledger.store
    assert isinstance(store, KillingStore)
    assert ledger.append(_entry(0)) == 0
    store.kill_at = point
    assert ledger.append_many([_entry(1), _entry(2)]) == [1, 2]
    assert store.kill_at is None, "the connection was never cut"
    assert (store.replayed, store.landed) == (1, 0)
    assert store.reconnects == 1
    assert ledger.append(_entry(3)) == 3
    assert _subjects(ledger) == ["item:0", "item:1", "item:2", "item:3"]
    assert ledger.checkpoint() is not None
    assert ledger.verify().ok


@pytest.mark.postgres
def test_an_idle_connection_lost_between_appends_and_reads_is_replaced(ledger: Ledger, pg_dsn: str) -> None:
    store = ledger.store
    assert isinstance(store, KillingStore)
    ledger.append(_entry(0))
    # Every connection of the store: the writer thread's, and this thread's (which the reads use).
    pids = [conn.info.backend_pid for conn in store._all]
    assert len(pids) == 2
    with psycopg.connect(pg_dsn, autocommit=True) as side:
        side.execute("SELECT pg_terminate_backend(pid) FROM unnest(%s::int[]) AS pid", (pids,))
        # pg_terminate_backend only signals: wait until both backends are gone, or the next append may
        # still find its connection alive (and count no reconnect) on a loaded machine.
        deadline = time.monotonic() + 10
        while side.execute("SELECT count(*) FROM pg_stat_activity WHERE pid = ANY(%s)", (pids,)).fetchone() != (0,):
            assert time.monotonic() < deadline, "the backends were not terminated within 10 s"
            time.sleep(0.01)
    ledger.append(_entry(1))
    assert ledger.size == 2
    assert _subjects(ledger) == ["item:0", "item:1"]
    assert (store.reconnects, store.replayed) == (2, 0)


@pytest.mark.postgres
def test_another_writer_between_the_loss_and_the_replay_fails_the_append_without_a_trace(
    ledger: Ledger, pg_dsn: str, pg_schema: str, settings: Settings, tmp_path: Path
) -> None:
    store = ledger.store
    assert isinstance(store, KillingStore)
    ledger.append(_entry(0))
    other = Ledger(PostgresStore(pg_dsn, pg_schema), settings, keys_dir=tmp_path / "keys")
    store.kill_at = "commit"

    def other_appends() -> None:
        other.append(_entry(100))

    store.meanwhile = other_appends
    try:
        with pytest.raises(StorageError, match="nothing of this append was committed"):
            ledger.append(_entry(1))
    finally:
        other.close()
    assert ledger.append(_entry(2)) == 2
    assert _subjects(ledger) == ["item:0", "item:100", "item:2"]
    assert ledger.verify().ok


@pytest.mark.postgres
@pytest.mark.parametrize(("change", "refusal"), [("shorter", "holds 1 entries"), ("other_head", "another head")])
def test_a_log_that_changed_under_a_lost_transaction_is_refused_not_forked(
    ledger: Ledger, pg_dsn: str, pg_schema: str, change: str, refusal: str
) -> None:
    store = ledger.store
    assert isinstance(store, KillingStore)
    ledger.append_many([_entry(0), _entry(1)])

    def tamper() -> None:
        # What a server that lacks acknowledged entries, or holds another history, would look like.
        with psycopg.connect(pg_dsn, autocommit=True) as side:
            side.execute(sql.SQL("SET search_path = {}").format(sql.Identifier(pg_schema)))
            if change == "shorter":
                side.execute("UPDATE log_state SET size = 1")
            else:
                side.execute("UPDATE tiles SET hashes = overlay(hashes placing '\\xff'::bytea from 1) WHERE level = 0")

    store.kill_at = "commit"
    store.meanwhile = tamper
    with pytest.raises(IntegrityError, match=refusal):
        ledger.append(_entry(2))
    with psycopg.connect(pg_dsn, autocommit=True) as side:
        side.execute(sql.SQL("SET search_path = {}").format(sql.Identifier(pg_schema)))
        row = side.execute("SELECT count(*) FROM entries").fetchone()
    assert row is not None
    assert row[0] == 2, "nothing of the refused append may be written"
