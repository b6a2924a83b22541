"""A partition's snapshot is written by a forked child: of the instant of the save, committed only when
complete, never half a pair after a crash, and still a snapshot where no child can be forked."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fraud_helpers import T0

from finpilot.audit import Ledger, open_ledger
from finpilot.core import FraudSettings, Settings
from finpilot.fraud import FeatureEngine, FraudService, HashRing, Partition, Payment, partition_dir
from finpilot.fraud._serving import _forked_save, _partition
from finpilot.fraud._serving._persist import FEATURES_FILE, write_atomically
from finpilot.fraud._serving._tail import PartitionTail

pytestmark = pytest.mark.skipif(not _forked_save.CAN_FORK, reason="snapshots are forked on Linux only")


@pytest.fixture(autouse=True)
def fork_whatever_the_size(monkeypatch: pytest.MonkeyPatch) -> None:
    # These states are a few rows: below the size worth a fork, which these tests are about.
    monkeypatch.setattr(_forked_save, "FORK_ABOVE_BYTES", 0)


@pytest.fixture
def ledger(tmp_path: Path) -> Iterator[Ledger]:
    with open_ledger(Settings(data_dir=tmp_path / "fp")) as opened:
        yield opened


def service_on(ledger: Ledger, model: Path) -> FraudService:
    return FraudService.from_settings(FraudSettings(model_dir=model), ledger)


RING = HashRing(2)
MINE = [f"cust{i}" for i in range(1000) if RING.owner(f"cust{i}") == 0][:3]
THEIRS = [f"cust{i}" for i in range(1000) if RING.owner(f"cust{i}") == 1][:3]


def pay(i: int) -> Payment:
    customer = (MINE if i % 2 else THEIRS)[i % 3]
    return Payment(f"tx{i}", T0 + i * 60, customer, f"t{i % 4}", 20.0 + i)


class Pair:
    """Scorer 0 (snapshotting to ``home``) and scorer 1 (not), both on one ledger."""

    def __init__(self, ledger: Ledger, model: Path, home: Path) -> None:
        self.ledger, self.model, self.home = ledger, model, home
        self.live = Partition(service_on(ledger, model), RING, 0, home)
        self.other = Partition(service_on(ledger, model), RING, 1)

    def run(self, payments: range) -> None:
        for i in payments:
            payment = pay(i)
            (self.live if RING.owner(payment.customer) == 0 else self.other).service.score(payment)
            self.live.catch_up()

    def restarted(self) -> Partition:
        again = Partition(service_on(self.ledger, self.model), RING, 0, self.home)
        again.restore()
        return again


def doc(home: Path) -> dict[str, object]:
    return dict(json.loads((home / "partition.json").read_text()))


def snapshots(home: Path) -> list[str]:
    return sorted(p.name for p in home.glob("features*"))


def test_a_periodic_save_is_of_its_instant_while_scoring_goes_on(
    ledger: Ledger, tiny_fraud_model: Path, tmp_path: Path
) -> None:
    pair = Pair(ledger, tiny_fraud_model, partition_dir(tmp_path / "fraud", 0))
    pair.run(range(16))
    at_save = pair.live.service.scorer.engine.snapshot()
    pair.live.save(wait=False)  # the tail's periodic save: returns once the child is forked
    pair.run(range(16, 40))  # scored while the child writes (or after it finished: either way)
    assert pair.live.finish_save(wait=True)
    committed = doc(pair.home)
    assert committed["version"] == 2
    assert snapshots(pair.home) == [committed["features"]]
    # The file is the state of the save's instant, not of the 24 payments scored after it.
    written = (pair.home / str(committed["features"])).read_bytes()
    assert written == at_save
    restarted = pair.restarted()
    assert restarted.service.scorer.engine.snapshot() == pair.live.service.scorer.engine.snapshot()
    assert restarted.stats.own > 0  # the payments after the save were replayed from the ledger


def test_a_crash_while_a_save_is_written_restores_from_the_last_committed_pair(
    ledger: Ledger, tiny_fraud_model: Path, tmp_path: Path
) -> None:
    pair = Pair(ledger, tiny_fraud_model, partition_dir(tmp_path / "fraud", 0))
    pair.run(range(10))
    pair.live.save()
    first = doc(pair.home)
    pair.run(range(10, 30))
    pair.live.save(wait=False)
    pid = pair.live._saving[0] if pair.live._saving else None
    assert pid is not None
    # The child may finish its file: until the parent commits, partition.json still names the first one.
    deadline = time.monotonic() + 30
    while _forked_save.snapshot_done(pid, wait=False) is None and time.monotonic() < deadline:
        time.sleep(0.01)
    pair.live._saving = None  # the parent "dies" before committing
    assert doc(pair.home) == first
    assert len(snapshots(pair.home)) == 2  # both files, the committed one untouched
    restarted = pair.restarted()
    assert restarted.service.scorer.engine.snapshot() == pair.live.service.scorer.engine.snapshot()
    # The restarted scorer's next save sweeps the file nobody committed.
    restarted.save()
    assert snapshots(pair.home) == [doc(pair.home)["features"]]


def test_a_child_that_fails_leaves_the_last_pair_and_says_so(
    ledger: Ledger,
    tiny_fraud_model: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    pair = Pair(ledger, tiny_fraud_model, partition_dir(tmp_path / "fraud", 0))
    pair.run(range(10))
    pair.live.save()
    first = doc(pair.home)

    def no_space(self: FeatureEngine, file: object) -> int:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(FeatureEngine, "snapshot_to", no_space)  # the child is a copy: it fails the same way
    pair.run(range(10, 20))
    with caplog.at_level(logging.WARNING, logger="finpilot.fraud"):
        pair.live.save()
    assert any("exited with 1" in r.getMessage() for r in caplog.records)
    assert doc(pair.home) == first
    assert snapshots(pair.home) == [first["features"]]
    monkeypatch.undo()
    restarted = pair.restarted()
    assert restarted.service.scorer.engine.snapshot() == pair.live.service.scorer.engine.snapshot()


def test_where_no_child_can_be_forked_the_state_is_copied_under_the_lock(
    ledger: Ledger, tiny_fraud_model: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_forked_save, "CAN_FORK", False)
    pair = Pair(ledger, tiny_fraud_model, partition_dir(tmp_path / "fraud", 0))
    pair.run(range(16))
    pair.live.save(wait=False)
    assert pair.live._saving is None  # nothing pending: written before save returned
    assert snapshots(pair.home) == [doc(pair.home)["features"]]
    pair.run(range(16, 30))
    assert pair.restarted().service.scorer.engine.snapshot() == pair.live.service.scorer.engine.snapshot()


def test_a_version_1_pair_from_before_forked_saves_still_restores(
    ledger: Ledger, tiny_fraud_model: Path, tmp_path: Path
) -> None:
    pair = Pair(ledger, tiny_fraud_model, partition_dir(tmp_path / "fraud", 0))
    pair.run(range(12))
    # What save() wrote before: features.snapshot and a partition.json without "features".
    pair.home.mkdir(parents=True)
    with pair.live._tail_lock, pair.live.service._lock:
        write_atomically(pair.home / FEATURES_FILE, pair.live.service.scorer.engine.snapshot())
        old = {"version": 1, "ledger_position": pair.live.position, "members": 2, "frozen": [], "ahead": []}
        write_atomically(pair.home / "partition.json", json.dumps(old).encode())
    pair.run(range(12, 25))
    restarted = pair.restarted()
    assert restarted.stats.own > 0
    assert restarted.service.scorer.engine.snapshot() == pair.live.service.scorer.engine.snapshot()
    restarted.save()
    assert snapshots(pair.home) == [doc(pair.home)["features"]]  # features.snapshot swept


def test_partition_json_cannot_point_outside_its_directory(
    ledger: Ledger, tiny_fraud_model: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    pair = Pair(ledger, tiny_fraud_model, partition_dir(tmp_path / "fraud", 0))
    pair.run(range(12))
    pair.live.save()
    forged = {**doc(pair.home), "features": "../../fp/ledger.db"}
    write_atomically(pair.home / "partition.json", json.dumps(forged).encode())
    with caplog.at_level(logging.WARNING, logger="finpilot.fraud"):
        restarted = pair.restarted()
    assert any("replaying the whole ledger" in r.getMessage() for r in caplog.records)
    assert restarted.service.scorer.engine.snapshot() == pair.live.service.scorer.engine.snapshot()


def test_a_small_state_is_copied_under_the_lock_rather_than_forked(
    ledger: Ledger, tiny_fraud_model: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pair = Pair(ledger, tiny_fraud_model, partition_dir(tmp_path / "fraud", 0))
    pair.run(range(8))
    state = pair.live.service.scorer.engine.allocated_bytes()
    assert state > 0
    monkeypatch.setattr(_forked_save, "FORK_ABOVE_BYTES", state + 1)
    pair.live.save(wait=False)
    assert pair.live._saving is None  # no child: written before save returned
    monkeypatch.setattr(_forked_save, "FORK_ABOVE_BYTES", state)
    pair.live.save(wait=False)
    assert pair.live._saving is not None  # at the threshold: forked
    assert pair.live.finish_save(wait=True)
    assert pair.restarted().service.scorer.engine.snapshot() == pair.live.service.scorer.engine.snapshot()


def test_the_tail_threads_periodic_save_forks_and_commits(
    ledger: Ledger, tiny_fraud_model: Path, tmp_path: Path
) -> None:
    # The child of a fork made from the tail thread (not the main one) must be able to drop the
    # parent's signal handling and write: its pair is committed while the tail keeps reading.
    pair = Pair(ledger, tiny_fraud_model, partition_dir(tmp_path / "fraud", 0))
    pair.run(range(10))
    tail = PartitionTail(pair.live, tail_s=0.01, snapshot_s=0.05).start()
    try:
        deadline = time.monotonic() + 30
        while not (pair.home / "partition.json").is_file() and time.monotonic() < deadline:
            time.sleep(0.01)
        assert doc(pair.home)["version"] == 2
        pair.run(range(10, 20))
    finally:
        tail.stop(save=False)
    assert pair.live._saving is None  # a save still being written was waited for and committed
    assert snapshots(pair.home) == [doc(pair.home)["features"]]
    assert pair.restarted().service.scorer.engine.snapshot() == pair.live.service.scorer.engine.snapshot()


def test_a_large_old_snapshot_is_removed_a_step_per_tail_round(
    ledger: Ledger, tiny_fraud_model: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pair = Pair(ledger, tiny_fraud_model, partition_dir(tmp_path / "fraud", 0))
    pair.run(range(10))
    pair.live.save()
    old = pair.home / str(doc(pair.home)["features"])
    size = old.stat().st_size
    step = size // 3 + 1  # a "large" file: three steps
    monkeypatch.setattr(_partition, "SHRINK_STEP", step)
    pair.run(range(10, 14))
    pair.live.save()
    assert old.stat().st_size == size - step  # the commit took the first step only
    assert pair.live.finish_save(wait=False)  # a tail round: the next step
    assert old.stat().st_size == size - 2 * step
    pair.live.finish_save(wait=False)
    assert not old.exists()  # what was left was no more than a step: unlinked
    assert snapshots(pair.home) == [doc(pair.home)["features"]]
    assert pair.restarted().service.scorer.engine.snapshot() == pair.live.service.scorer.engine.snapshot()
