"""SQLite durability by group fsync: a write returns only after an fsync that began after its commit."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import pytest
from finpilot_payments import StorageError
from finpilot_payments._sqlite import SqliteDatabase


def _slow_fsync(monkeypatch: pytest.MonkeyPatch, db: SqliteDatabase, log: list[tuple[float, int]]) -> None:
    real = os.fsync

    def fsync(fd: int) -> None:
        # What had committed when this fsync began: exactly the commits it can cover.
        log.append((time.monotonic(), db._committed))
        time.sleep(0.01)  # a disk that takes 10 ms per fsync, as this one does under load
        real(fd)

    monkeypatch.setattr("finpilot_payments._sqlite.os.fsync", fsync)


def test_concurrent_writes_share_fsyncs_and_each_waits_for_one_after_its_commit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = SqliteDatabase(tmp_path / "payments.db")
    fsyncs: list[tuple[float, int]] = []
    _slow_fsync(monkeypatch, db, fsyncs)
    returned: list[tuple[int, float]] = []  # (commit number, when write() returned)
    lock = threading.Lock()

    def writer(n: int) -> None:
        for i in range(10):
            with db.write() as tx:
                tx.run("INSERT INTO meta (name, value) VALUES (?, ?)", (f"w{n}-{i}", "x"))
                commit = db._committed + 1  # this transaction's number once it commits
            with lock:
                returned.append((commit, time.monotonic()))

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    try:
        with db.read() as tx:
            (rows,) = tx.one("SELECT COUNT(*) FROM meta WHERE name LIKE 'w%'") or (0,)
    finally:
        db.close()
    assert rows == 160
    # Shared: far fewer fsyncs than writes (each takes 10 ms, so 160 alone would take 1.6 s).
    assert len(fsyncs) < 80, len(fsyncs)
    # Durable before returning: some fsync that started at or after the commit covered it,
    # and it started before write() returned.
    for commit, when in returned:
        assert any(covered >= commit and began <= when for began, covered in fsyncs), (commit, fsyncs[:5])


def test_a_failed_fsync_is_a_storage_error_and_the_next_write_syncs_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = SqliteDatabase(tmp_path / "payments.db")
    calls = {"n": 0}
    real = os.fsync

    def fsync(fd: int) -> None:
        calls["n"] += 1
        if calls["n"] == 1:
            raise OSError(5, "Input/output error")
        real(fd)

    monkeypatch.setattr("finpilot_payments._sqlite.os.fsync", fsync)
    try:
        with pytest.raises(StorageError, match="synced to disk"), db.write() as tx:
            tx.run("INSERT INTO meta (name, value) VALUES ('a', '1')")
        with db.write() as tx:
            tx.run("INSERT INTO meta (name, value) VALUES ('b', '2')")
        assert calls["n"] == 2
        with db.read() as tx:
            assert tx.all("SELECT name FROM meta WHERE name IN ('a', 'b') ORDER BY name") == [("a",), ("b",)]
    finally:
        db.close()


def test_reads_never_wait_for_the_disk(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    db = SqliteDatabase(tmp_path / "payments.db")
    gate = threading.Event()
    syncing = threading.Event()
    real = os.fsync

    def fsync(fd: int) -> None:
        syncing.set()
        gate.wait(10)
        real(fd)

    monkeypatch.setattr("finpilot_payments._sqlite.os.fsync", fsync)

    def write() -> None:
        with db.write() as tx:
            tx.run("INSERT INTO meta (name, value) VALUES ('slow', '1')")

    thread = threading.Thread(target=write)
    thread.start()
    try:
        # An fsync begins only after a commit: once it has, the write is committed and stuck on the disk.
        assert syncing.wait(10)
        began = time.monotonic()
        with db.read() as tx:
            assert tx.one("SELECT value FROM meta WHERE name = 'slow'") == ("1",)
        assert time.monotonic() - began < 5
        assert thread.is_alive()  # still waiting for the disk
    finally:
        gate.set()
        thread.join()
        db.close()
