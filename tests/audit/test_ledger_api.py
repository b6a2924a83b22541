"""The ledger's public API on both backends: appends, checkpoints, proofs, reads, sharing a store."""

from __future__ import annotations

import itertools
import os
import stat
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from finpilot.audit import (
    Entry,
    Ledger,
    open_ledger,
    verify_consistency_proof,
    verify_inclusion_proof,
)
from finpilot.audit._merkle import leaf_hash
from finpilot.audit._note import Verifier, open_checkpoint, verifier_key
from finpilot.core import (
    FakeClock,
    InputError,
    IntegrityError,
    NotFoundError,
    SensitiveDataError,
    Settings,
    StorageError,
    rfc3339,
)

MakeSettings = Callable[..., Settings]


def make_entry(i: int | str, **overrides: object) -> Entry:
    fields: dict[str, object] = {
        "kind": "custom.test",
        "actor": "tester",
        "action": "append",
        "subject": f"item:{i}",
        "outcome": "ok",
        "evidence": {"i": str(i)},
    }
    fields.update(overrides)
    return Entry(**fields)  # type: ignore[arg-type]


def subjects(ledger: Ledger) -> list[str]:
    return [ledger.entry(i).fields["subject"] for i in range(ledger.size)]


def wait_for(predicate: Callable[[], bool], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.005)
    return predicate()


def test_append_returns_dense_indices(backend_settings: MakeSettings) -> None:
    clock = FakeClock()
    with open_ledger(backend_settings(), clock=clock) as ledger:
        assert ledger.size == 0
        assert [ledger.append(make_entry(i)) for i in range(3)] == [0, 1, 2]
        assert ledger.append_many([make_entry(i) for i in range(3, 8)]) == [3, 4, 5, 6, 7]
        assert ledger.append_many([]) == []
        assert ledger.append(make_entry(8)) == 8
        assert ledger.size == 9
        assert subjects(ledger) == [f"item:{i}" for i in range(9)]
        stored = ledger.entry(4)
        assert stored.index == 4
        assert stored.fields["time"] == rfc3339(clock())
        assert stored.leaf_hash == leaf_hash(stored.data)
        assert stored.to_json()["index"] == 4
        assert stored.to_json()["leaf_hash"] == stored.leaf_hash.hex()
        assert ledger.verify().ok


def test_append_many_is_all_or_nothing(backend_settings: MakeSettings) -> None:
    with open_ledger(backend_settings()) as ledger:
        ledger.append_many([make_entry(0), make_entry(1)])
        with pytest.raises(InputError) as info:
            ledger.append_many([make_entry(2), make_entry(3, kind=""), make_entry(4)])
        assert info.value.field == "entries[1].kind"
        assert "entries[1]" in info.value.message
        with pytest.raises(SensitiveDataError) as sensitive:
            ledger.append_many([make_entry(2), make_entry(3), make_entry(4, subject="card 4111 1111 1111 1111")])
        assert sensitive.value.field == "entries[2].subject"
        with pytest.raises(InputError) as not_entry:
            ledger.append_many([make_entry(2), {"kind": "custom.dict"}])  # type: ignore[list-item]
        assert not_entry.value.field == "entries[1]"
        with pytest.raises(InputError):
            ledger.append(make_entry(2, evidence={"x": float("nan")}))
        with pytest.raises(SensitiveDataError):
            ledger.append(make_entry(2, actor="fp_0123abcd_" + "A" * 30))
        assert ledger.size == 2
        assert ledger.append(make_entry(2)) == 2
        assert subjects(ledger) == ["item:0", "item:1", "item:2"]
        assert ledger.verify().ok


def test_concurrent_appends_get_distinct_dense_indices(backend_settings: MakeSettings) -> None:
    threads, per_thread = 16, 12
    got: dict[str, int] = {}
    errors: list[BaseException] = []
    lock = threading.Lock()
    start = threading.Barrier(threads)

    def work(ledger: Ledger, t: int) -> None:
        try:
            start.wait()
            for j in range(per_thread):
                if j % 3 == 2:
                    names = [f"{t}-{j}-a", f"{t}-{j}-b"]
                    indices = ledger.append_many([make_entry(n) for n in names])
                else:
                    names = [f"{t}-{j}"]
                    indices = [ledger.append(make_entry(names[0]))]
                with lock:
                    got.update(zip(names, indices, strict=True))
        except BaseException as exc:  # reported below
            errors.append(exc)

    with open_ledger(backend_settings()) as ledger:
        pool = [threading.Thread(target=work, args=(ledger, t)) for t in range(threads)]
        for th in pool:
            th.start()
        for th in pool:
            th.join()
        assert not errors
        total = threads * (per_thread + per_thread // 3)
        assert sorted(got.values()) == list(range(total))
        assert ledger.size == total
        for name, index in got.items():
            assert ledger.entry(index).fields["subject"] == f"item:{name}"
        # append_many keeps a batch contiguous even under contention.
        for name, index in got.items():
            if name.endswith("-a"):
                assert got[name[:-2] + "-b"] == index + 1
        assert ledger.verify().ok


def test_max_batch_bounds_a_group_commit(backend_settings: MakeSettings, monkeypatch: pytest.MonkeyPatch) -> None:
    """max_batch bounds how many callers' entries one group commit writes; one caller's batch is
    never split, even when it alone is larger."""
    limit, threads, per_thread = 4, 12, 6
    with open_ledger(backend_settings(max_batch=limit)) as ledger:
        writes: list[int] = []
        real = ledger.store.write_entries

        def spy(start: int, data: list[bytes], *rest: object) -> object:
            writes.append(len(data))
            return real(start, data, *rest)  # type: ignore[arg-type]

        monkeypatch.setattr(ledger.store, "write_entries", spy)
        errors: list[BaseException] = []
        start = threading.Barrier(threads)

        def work(t: int) -> None:
            try:
                start.wait()
                for j in range(per_thread):
                    if j % 2:
                        ledger.append_many([make_entry(f"{t}-{j}-{k}") for k in range(3)])
                    else:
                        ledger.append(make_entry(f"{t}-{j}"))
            except BaseException as exc:  # reported below
                errors.append(exc)

        pool = [threading.Thread(target=work, args=(t,)) for t in range(threads)]
        for th in pool:
            th.start()
        for th in pool:
            th.join()
        assert not errors
        total = threads * (per_thread // 2) * 4
        assert ledger.size == total
        assert sum(writes) == total
        assert max(writes) <= limit, writes
        big = ledger.append_many([make_entry(f"big-{k}") for k in range(3 * limit)])
        assert big == list(range(total, total + 3 * limit))
        assert writes[-1] == 3 * limit
        assert ledger.verify().ok


def test_checkpoints_are_made_automatically(backend_settings: MakeSettings) -> None:
    settings_ = backend_settings()
    assert settings_.audit.checkpoint_interval_s <= 0.1
    with open_ledger(settings_) as ledger:
        assert ledger.latest_checkpoint() is None
        ledger.append(make_entry(0))
        # Due within the 0.1 s interval; the 10 s deadline only bounds a loaded machine's wait.
        assert wait_for(lambda: (cp := ledger.latest_checkpoint()) is not None and cp.size == 1, 10)
        ledger.append_many([make_entry(i) for i in range(1, 5)])
        assert wait_for(lambda: (cp := ledger.latest_checkpoint()) is not None and cp.size == 5, 10)
        cps = ledger.checkpoints()
        assert [c.seq for c in cps] == list(range(1, len(cps) + 1))
        assert all(a.size < b.size for a, b in itertools.pairwise(cps))
        verifier = Verifier.parse(ledger.verifier_key())
        for cp in cps:
            opened = open_checkpoint(cp.note, verifier)
            assert (opened.origin, opened.size, opened.root) == (ledger.origin, cp.size, cp.root)
        # Idle: nothing more is signed. Kept sleep: a negative claim about a timed feature needs time
        # to pass, here more than the 0.1 s checkpoint interval.
        time.sleep(0.15)
        assert len(ledger.checkpoints()) == len(cps)
        assert ledger.checkpoints(after_seq=1) == cps[1:]
        assert ledger.checkpoints(limit=1) == cps[:1]


def test_checkpoint_when_nothing_changed_returns_the_latest(backend_settings: MakeSettings) -> None:
    with open_ledger(backend_settings(checkpoint_interval_s=3600)) as ledger:
        assert ledger.checkpoint() is None
        ledger.append(make_entry(0))
        first = ledger.checkpoint()
        assert first is not None
        assert first.size == 1
        again = ledger.checkpoint()
        assert again == first
        assert ledger.latest_checkpoint() == first
        assert len(ledger.checkpoints()) == 1
        ledger.append(make_entry(1))
        second = ledger.checkpoint()
        assert second is not None
        assert (second.seq, second.size) == (first.seq + 1, 2)
        assert second.to_json()["tree_size"] == 2


def test_inclusion_proofs_verify(backend_settings: MakeSettings) -> None:
    with open_ledger(backend_settings(checkpoint_interval_s=3600)) as ledger:
        for batch in range(6):
            ledger.append_many([make_entry(f"{batch}-{i}") for i in range(batch * 7 + 1)])
            ledger.checkpoint()
        size = ledger.size
        key = ledger.verifier_key()
        latest = ledger.latest_checkpoint()
        assert latest is not None
        assert latest.size == size
        for i in range(size):
            proof = ledger.inclusion_proof(i)
            assert proof.tree_size == size
            assert proof.root_hash == latest.root
            assert proof.leaf_data == ledger.entry(i).data.decode()
            assert verify_inclusion_proof(proof.to_json(), key)
            assert verify_inclusion_proof(proof.to_json())
        doc = ledger.inclusion_proof(size // 2).to_json()
        for tampered in (
            {**doc, "index": doc["index"] + 1},  # type: ignore[operator]
            {**doc, "leaf_data": str(doc["leaf_data"]).replace("item", "itex")},
            {**doc, "hashes": list(reversed(doc["hashes"]))},  # type: ignore[call-overload]
            {**doc, "root_hash": "00" * 32},
            {**doc, "tree_size": size - 1},
        ):
            assert not verify_inclusion_proof(tampered, key)
        assert not verify_inclusion_proof({**doc, "checkpoint": None}, key)
        assert not verify_inclusion_proof(doc, verifier_key(ledger.origin, Ed25519PrivateKey.generate().public_key()))
        # Older tree sizes: signed when a checkpoint has that size, unsigned otherwise.
        cps = ledger.checkpoints()
        for cp in cps:
            for i in {0, cp.size - 1, cp.size // 2}:
                proof = ledger.inclusion_proof(i, cp.size)
                assert proof.checkpoint == cp.note
                assert verify_inclusion_proof(proof.to_json(), key)
        unsigned = ledger.inclusion_proof(2, 5)
        assert unsigned.checkpoint is None
        assert verify_inclusion_proof(unsigned.to_json())
        assert not verify_inclusion_proof(unsigned.to_json(), key)
        with pytest.raises(InputError):
            ledger.inclusion_proof(-1)
        with pytest.raises(InputError):
            ledger.inclusion_proof(3, 3)
        with pytest.raises(InputError):
            ledger.inclusion_proof(0, size + 1)
        with pytest.raises(NotFoundError):
            ledger.inclusion_proof(size)
        with pytest.raises(InputError):
            verify_inclusion_proof({"hashes": "nope"})


def test_consistency_proofs_verify(backend_settings: MakeSettings) -> None:
    with open_ledger(backend_settings(checkpoint_interval_s=3600)) as ledger:
        for batch in range(5):
            ledger.append_many([make_entry(f"{batch}-{i}") for i in range(batch * 11 + 3)])
            ledger.checkpoint()
        size = ledger.size
        cps = ledger.checkpoints()
        roots = {cp.size: cp.root for cp in cps}
        for old in range(1, size + 1):
            proof = ledger.consistency_proof(old)
            assert proof.new_size == size
            assert verify_consistency_proof(proof.to_json())
            if old in roots:
                assert proof.old_root == roots[old]
        for a in cps:
            for b in cps:
                if a.size <= b.size:
                    proof = ledger.consistency_proof(a.size, b.size)
                    assert (proof.old_root, proof.new_root) == (a.root, b.root)
                    assert verify_consistency_proof(proof.to_json())
        doc = ledger.consistency_proof(5, size).to_json()
        assert not verify_consistency_proof({**doc, "old_size": 6})
        assert not verify_consistency_proof({**doc, "old_root": doc["new_root"]})
        assert not verify_consistency_proof({**doc, "hashes": doc["hashes"][:-1]})  # type: ignore[index]
        for old, new in [(0, 3), (4, 3), (1, size + 1)]:
            with pytest.raises(InputError):
                ledger.consistency_proof(old, new)
        with pytest.raises(InputError):
            verify_consistency_proof({"old_size": 1})


def test_two_ledgers_on_one_store_stay_dense(backend_settings: MakeSettings) -> None:
    settings_ = backend_settings()
    a = open_ledger(settings_)
    b = open_ledger(backend_settings())
    try:
        assert a.verifier_key() == b.verifier_key()
        expected: list[str] = []
        for round_ in range(6):
            for ledger, name in ((a, "a"), (b, "b")):
                label = f"{name}{round_}"
                if round_ % 2:
                    indices = ledger.append_many([make_entry(f"{label}-{k}") for k in range(3)])
                    expected += [f"item:{label}-{k}" for k in range(3)]
                else:
                    indices = [ledger.append(make_entry(label))]
                    expected.append(f"item:{label}")
                assert indices == list(range(len(expected) - len(indices), len(expected)))
            if round_ == 3:
                a.checkpoint()
                b.checkpoint()
        # Both at once, from threads, while each writer must notice the other's appends.
        got: list[int] = []
        lock = threading.Lock()

        def push(ledger: Ledger, name: str) -> None:
            for k in range(15):
                index = ledger.append(make_entry(f"{name}-t{k}"))
                with lock:
                    got.append(index)

        threads = [threading.Thread(target=push, args=(ledger, n)) for ledger, n in ((a, "a"), (b, "b"))]
        for th in threads:
            th.start()
        for th in threads:
            th.join()
        assert sorted(got) == list(range(len(expected), len(expected) + 30))
        size = a.size
        assert b.size == size == len(expected) + 30
        assert subjects(a)[: len(expected)] == expected
        cp_a, cp_b = a.checkpoint(), b.checkpoint()
        assert cp_a is not None
        assert cp_b is not None
        assert cp_a.size == cp_b.size == size
        assert cp_a.root == cp_b.root
        seqs = [c.seq for c in a.checkpoints()]
        assert seqs == list(range(1, len(seqs) + 1))
        for ledger in (a, b):
            report = ledger.verify()
            assert report.ok, report.to_json()
            assert report.tree_size == size
        key = a.verifier_key()
        for i in range(0, size, 5):
            assert verify_inclusion_proof(b.inclusion_proof(i).to_json(), key)
            assert verify_inclusion_proof(a.inclusion_proof(i).to_json(), key)
        assert verify_consistency_proof(a.consistency_proof(1).to_json())
    finally:
        a.close()
        b.close()


def test_signing_key_is_private(backend_settings: MakeSettings) -> None:
    settings_ = backend_settings()
    with open_ledger(settings_) as ledger:
        ledger.append(make_entry(0))
        key_before = ledger.verifier_key()
    keys = Path(settings_.data_dir) / "keys"
    key_file = keys / "audit-ed25519.pem"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert stat.S_IMODE(keys.stat().st_mode) & 0o077 == 0
    assert b"PRIVATE KEY" in key_file.read_bytes()
    with open_ledger(settings_) as ledger:
        assert ledger.verifier_key() == key_before
        assert ledger.size == 1
    os.chmod(key_file, 0o644)
    with pytest.raises(IntegrityError):
        open_ledger(settings_)


def test_reads_and_not_found(backend_settings: MakeSettings) -> None:
    with open_ledger(backend_settings()) as ledger:
        assert ledger.tail() == []
        with pytest.raises(NotFoundError):
            ledger.entry(0)
        ledger.append_many([make_entry(i) for i in range(30)])
        with pytest.raises(NotFoundError) as info:
            ledger.entry(30)
        assert info.value.field == "index"
        with pytest.raises(NotFoundError):
            ledger.entry(-1)
        tail = ledger.tail()
        assert [e.index for e in tail] == list(range(29, 9, -1))
        assert [e.index for e in ledger.tail(limit=3)] == [29, 28, 27]
        assert [e.index for e in ledger.tail(limit=5, before=3)] == [2, 1, 0]
        assert [e.index for e in ledger.tail(limit=2, before=1000)] == [29, 28]
        assert ledger.tail(limit=5, before=0) == []
        assert [e.index for e in ledger.tail(limit=10_000)] == list(range(29, -1, -1))
        for limit in (0, -1, 10_001):
            with pytest.raises(InputError):
                ledger.tail(limit=limit)
        assert tail[0].data == ledger.entry(29).data
        assert ledger.store.description
        assert "PUBLIC KEY" in ledger.public_key_pem()


@pytest.mark.parametrize("kind", ["audit.erasure", "audit.", "audit.checkpoint", "audit.erasure.v2"])
def test_reserved_audit_kinds_are_refused(backend_settings: MakeSettings, kind: str) -> None:
    """audit.* kinds are the ledger's own (verify trusts audit.erasure records): append and
    append_many refuse them naming the field, before anything is written."""
    with open_ledger(backend_settings()) as ledger:
        ledger.append(make_entry(0))
        with pytest.raises(InputError) as info:
            ledger.append(make_entry(1, kind=kind))
        assert not isinstance(info.value, SensitiveDataError)
        assert info.value.field == "kind"
        assert kind in info.value.message
        with pytest.raises(InputError) as info:
            ledger.append_many([make_entry(1), make_entry(2, kind=kind), make_entry(3)])
        assert info.value.field == "entries[1].kind"
        with pytest.raises(InputError) as info:
            ledger.append_many([make_entry(1, kind=kind)])
        assert info.value.field == "kind"
        assert ledger.size == 1
        assert subjects(ledger) == ["item:0"]
        # Only the prefix is reserved: users' kinds that merely mention audit are ordinary.
        ordinary = ["custom.audit", "custom.auditor.review", "custom.x.audit.erasure", "custom.audit-log"]
        for i, name in enumerate(ordinary, start=1):
            assert ledger.append(make_entry(i, kind=name)) == i
        assert ledger.verify().ok


@pytest.mark.parametrize("kind", [None, 123, ["audit.x"]])
def test_non_text_kind_is_an_input_error(tmp_path: Path, kind: object) -> None:
    """The reserved-kind check runs before the text fields are validated; a kind that is not
    text must still be an InputError naming the field, not an AttributeError from it."""
    with open_ledger(Settings(data_dir=tmp_path / "data")) as ledger:
        with pytest.raises(InputError) as info:
            ledger.append(make_entry(0, kind=kind))
        assert info.value.field == "kind"
        with pytest.raises(InputError) as info:
            ledger.append_many([make_entry(0), make_entry(1, kind=kind)])
        assert info.value.field == "entries[1].kind"
        assert ledger.size == 0


def test_entries_from_json_append_and_errors_name_the_field(backend_settings: MakeSettings) -> None:
    with open_ledger(backend_settings()) as ledger:
        body = {"kind": "custom.k", "actor": "a", "action": "x", "subject": "s", "outcome": "ok", "evidence": {"n": 1}}
        index = ledger.append(Entry.from_json(body))
        assert ledger.entry(index).fields["evidence"] == {"n": 1}
        with pytest.raises(InputError) as info:
            Entry.from_json({**body, "extra": 1})
        assert info.value.field == "extra"
        with pytest.raises(InputError) as info:
            ledger.append(Entry.from_json({**body, "evidence": [1]}))
        assert info.value.field == "evidence"
        with pytest.raises(InputError) as info:
            ledger.append(Entry.from_json({**body, "personal": {"name": "Ada"}}))
        assert info.value.field == "data_subject"
        assert ledger.size == 1


def test_closed_ledger_refuses_appends(backend_settings: MakeSettings) -> None:
    ledger = open_ledger(backend_settings())
    ledger.append(make_entry(0))
    ledger.close()
    with pytest.raises(StorageError):
        ledger.append(make_entry(1))
    with open_ledger(backend_settings()) as again:
        assert again.size == 1
        # Closing signed the final size.
        latest = again.latest_checkpoint()
        assert latest is not None
        assert latest.size == 1
