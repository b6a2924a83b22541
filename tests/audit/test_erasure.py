"""Erasure of personal data (crypto-shredding) on both backends, and verify's checks of personal rows."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

import psycopg
import pytest

from finpilot.audit import Entry, Ledger, open_ledger, verify_inclusion_proof
from finpilot.core import InputError, Settings

MakeSettings = Callable[..., Settings]


A_NAME = "Alice Quuxworth-7f3a"
A_EMAIL = "alice.7f3a@example.test"
B_NAME = "Bob Plonkington-9c1e"


@contextmanager
def raw_db(settings: Settings) -> Iterator[Callable[..., list[tuple[Any, ...]]]]:
    """Run SQL (with ``?`` placeholders) straight against the ledger's store, behind its back."""
    if settings.storage.dsn:
        pg = psycopg.connect(
            settings.storage.dsn, autocommit=True, options=f"-c search_path={settings.storage.schema_name}"
        )

        def run_pg(query: str, *params: Any) -> list[tuple[Any, ...]]:
            cur = pg.execute(query.replace("?", "%s"), params)  # type: ignore[arg-type]
            return cur.fetchall() if cur.description else []

        try:
            yield run_pg
        finally:
            pg.close()
    else:
        lite = sqlite3.connect(Path(settings.data_dir) / "finpilot.db", isolation_level=None, timeout=30)

        def run_lite(query: str, *params: Any) -> list[tuple[Any, ...]]:
            return lite.execute(query, params).fetchall()

        try:
            yield run_lite
        finally:
            lite.close()


def plain(i: int) -> Entry:
    return Entry(kind="custom.test", actor="tester", action="act", subject=f"item:{i}", outcome="ok")


def about(subject: str, i: int) -> Entry:
    name, extra = (A_NAME, {"email": A_EMAIL}) if subject == "subject-a" else (B_NAME, {})
    return Entry(
        kind="custom.kyc",
        actor="svc:onboarding",
        action="review",
        subject=f"case:{i}",
        outcome="approved",
        evidence={"case": i},
        personal={"name": name, "i": i, **extra},
        data_subject=subject,
    )


def populate(ledger: Ledger) -> tuple[list[int], list[int]]:
    ledger.append(plain(0))
    a = [ledger.append(about("subject-a", 1))]
    b = [ledger.append(about("subject-b", 2))]
    idx = ledger.append_many([plain(3), about("subject-a", 4), about("subject-b", 5), about("subject-a", 6)])
    a += [idx[1], idx[3]]
    b += [idx[2]]
    ledger.checkpoint()
    return a, b


def files_bytes(data_dir: Path) -> dict[str, bytes]:
    return {str(p.relative_to(data_dir)): p.read_bytes() for p in data_dir.rglob("*") if p.is_file()}


def test_erase_one_subject(backend_settings: MakeSettings) -> None:
    settings_ = backend_settings()
    sqlite = not settings_.storage.dsn
    with open_ledger(settings_) as ledger:
        a_idx, b_idx = populate(ledger)
        assert (a_idx, b_idx) == ([1, 4, 6], [2, 5])
        with raw_db(settings_) as db:
            salts = [bytes(r[0]) for r in db("SELECT salt FROM personal WHERE data_subject = ?", "subject-a")]
        assert len(salts) == 3
        if sqlite:
            before = b"".join(files_bytes(Path(settings_.data_dir)).values())
            assert A_NAME.encode() in before  # the check below would prove nothing otherwise
            assert any(s in before for s in salts)
        size_before = ledger.size

        report = ledger.erase("subject-a", actor="test")
        assert report.indices == tuple(a_idx)
        assert report.record_index == size_before
        assert report.to_json() == {"erased_indices": a_idx, "record_index": size_before}

        result = ledger.verify()
        assert result.ok, result.to_json()
        key = ledger.verifier_key()
        ledger.checkpoint()
        for i in range(ledger.size):
            assert verify_inclusion_proof(ledger.inclusion_proof(i).to_json(), key), i
        # The leaves still hold their commitments; only the openings are gone.
        for i in a_idx:
            commitment = ledger.entry(i).fields["personal"]
            assert isinstance(commitment, str)
            assert len(commitment) == 64
        assert ledger.store.personal_for("subject-a") == []
        kept = ledger.store.personal_for("subject-b")
        assert [r.index for r in kept] == b_idx
        assert all(B_NAME.encode() in r.row.payload for r in kept)

        record = ledger.entry(size_before)
        fields = record.fields
        assert fields["kind"] == "audit.erasure"
        assert fields["evidence"]["indices"] == a_idx
        assert fields["personal"] is None
        for secret in (b"subject-a", A_NAME.encode(), A_EMAIL.encode()):
            assert secret not in record.data

        assert ledger.erase("subject-a", actor="test").indices == ()
        assert ledger.erase("nobody", actor="test").record_index is None
        with pytest.raises(InputError):
            ledger.erase("   ", actor="test")

        if sqlite:
            # Every byte the store keeps on disk: finpilot.db, -wal, -shm.
            files = files_bytes(Path(settings_.data_dir))
            assert {"finpilot.db"} <= set(files)
            for name, blob in files.items():
                for secret in (A_NAME.encode(), A_EMAIL.encode(), *salts):
                    assert secret not in blob, f"{name} still holds erased data"
            assert B_NAME.encode() in b"".join(files.values())
        else:
            with raw_db(settings_) as db:
                assert db("SELECT count(*) FROM personal WHERE data_subject = ?", "subject-a") == [(0,)]
                assert db("SELECT idx FROM personal ORDER BY idx") == [(i,) for i in b_idx]

        report_b = ledger.erase("subject-b", actor="test")
        assert report_b.indices == tuple(b_idx)
        assert ledger.verify().ok

    if sqlite:
        for name, blob in files_bytes(Path(settings_.data_dir)).items():
            for secret in (A_NAME.encode(), A_EMAIL.encode(), B_NAME.encode(), *salts):
                assert secret not in blob, f"{name} still holds erased data after close"
    with open_ledger(settings_) as again:
        assert again.verify().ok


def test_personal_row_deleted_without_erasure_record_fails_verify(backend_settings: MakeSettings) -> None:
    settings_ = backend_settings()
    with open_ledger(settings_) as ledger:
        a_idx, _ = populate(ledger)
        assert ledger.verify().ok
        with raw_db(settings_) as db:
            db("DELETE FROM personal WHERE idx = ?", a_idx[1])
        report = ledger.verify()
        assert not report.ok
        assert report.first_bad_index == a_idx[1]
        assert [(p.where, p.index) for p in report.problems] == [("personal", a_idx[1])]
        # A later, genuine erasure of the other rows does not cover the row deleted behind its back.
        ledger.erase("subject-a", actor="test")
        report = ledger.verify()
        assert [(p.where, p.index) for p in report.problems] == [("personal", a_idx[1])]


@pytest.mark.parametrize("column", ["payload", "salt", "data_subject"])
def test_altered_personal_row_fails_verify(backend_settings: MakeSettings, column: str) -> None:
    """Any change to a personal row fails verify at its index. That includes relabelling its
    data_subject column (which erase() searches by, so the row would escape erasure) while the
    committed payload still names the original subject."""
    settings_ = backend_settings()
    with open_ledger(settings_) as ledger:
        _, b_idx = populate(ledger)
        with raw_db(settings_) as db:
            if column == "payload":
                (payload,) = db("SELECT payload FROM personal WHERE idx = ?", b_idx[0])[0]
                db("UPDATE personal SET payload = ? WHERE idx = ?", bytes(payload).replace(b"Bob", b"Rob"), b_idx[0])
            elif column == "salt":
                db("UPDATE personal SET salt = ? WHERE idx = ?", b"\x00" * 32, b_idx[0])
            else:
                db("UPDATE personal SET data_subject = ? WHERE idx = ?", "subject-z", b_idx[0])
        report = ledger.verify()
        assert not report.ok
        assert report.first_bad_index == b_idx[0]
        assert [(p.where, p.index) for p in report.problems] == [("personal", b_idx[0])], report.to_json()


def test_personal_row_for_an_entry_without_commitment_fails_verify(backend_settings: MakeSettings) -> None:
    settings_ = backend_settings()
    with open_ledger(settings_) as ledger:
        populate(ledger)
        with raw_db(settings_) as db:
            db(
                "INSERT INTO personal (idx, data_subject, salt, payload) VALUES (?, ?, ?, ?)",
                0,
                "subject-x",
                b"\x01" * 32,
                b'{"data_subject":"subject-x","personal":{"n":1}}',
            )
        report = ledger.verify()
        assert not report.ok
        assert report.first_bad_index == 0
        assert report.problems[0].where == "personal"


def test_forged_erasure_record_cannot_excuse_a_deleted_row(backend_settings: MakeSettings) -> None:
    """verify() trusts audit.erasure records to explain missing personal rows, so callers must not
    be able to write one: delete a row behind the ledger's back, then try to append the erasure
    record erase() would have written. It is refused naming 'kind', nothing is appended, and the
    deleted row is still reported. Kinds that only resemble it are ordinary entries and excuse nothing."""
    settings_ = backend_settings()
    with open_ledger(settings_) as ledger:
        a_idx, _ = populate(ledger)
        victim = a_idx[1]
        with raw_db(settings_) as db:
            db("DELETE FROM personal WHERE idx = ?", victim)
        size = ledger.size
        forged = Entry(
            kind="audit.erasure",
            actor="test",
            action="erase",
            subject="personal-data",
            outcome="erased",
            evidence={"indices": [victim], "count": 1, "reason": "data subject erasure request"},
        )
        with pytest.raises(InputError) as info:
            ledger.append(forged)
        assert info.value.field == "kind"
        assert "audit." in str(info.value)
        with pytest.raises(InputError) as info:
            ledger.append_many([plain(10), forged])
        assert info.value.field == "entries[1].kind"
        assert ledger.size == size
        assert all(ledger.entry(i).fields["kind"] != "audit.erasure" for i in range(size))
        # Lookalikes are users' kinds now (custom.*): still ordinary entries that excuse nothing.
        for lookalike in ("custom. audit.erasure", "custom.AUDIT.ERASURE", "custom.audit"):
            ledger.append(replace(forged, kind=lookalike))
        assert ledger.size == size + 3
        report = ledger.verify()
        assert [(p.where, p.index) for p in report.problems] == [("personal", victim)], report.to_json()
        assert report.first_bad_index == victim
        ledger.checkpoint()
    with open_ledger(settings_) as again:
        report = again.verify()
        assert [(p.where, p.index) for p in report.problems] == [("personal", victim)], report.to_json()
