"""Encrypted backups and restore drills: round trips under traffic, tamper, wrong key, retention, secrecy."""

from __future__ import annotations

import base64
import json
import logging
import os
import re
import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from backup_helpers import KEY_ENV, append_entries, chunk_spans, new_key, payments_traffic
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from finpilot.audit import Ledger, open_ledger
from finpilot.core import BackupSettings, ConfigError, InputError, IntegrityError, SecretRef, Settings, StorageSettings
from finpilot.heal import create_backup, list_backups, prune_backups, restore_drill
from finpilot.heal._backup._crypto import BackupChunkError
from finpilot.heal._backup._store import BackupScheduler, retention_plan


@pytest.fixture
def key(monkeypatch: pytest.MonkeyPatch) -> str:
    """A fresh backup key in the environment variable the settings name."""
    value = new_key()
    monkeypatch.setenv(KEY_ENV, value)
    return value


@pytest.fixture
def cfg(tmp_path: Path, key: str) -> Settings:
    """SQLite settings with small chunks, so even a small backup spans several of them."""
    return Settings(data_dir=tmp_path / "data", backup=BackupSettings(key=SecretRef(env=KEY_ENV), chunk_bytes=4096))


@pytest.fixture
def ledger(cfg: Settings) -> Iterator[Ledger]:
    """The live ledger of ``cfg``."""
    with open_ledger(cfg) as opened:
        yield opened


def _kinds(ledger: Ledger) -> list[str]:
    return [e.fields["kind"] for e in reversed(ledger.tail(10_000))]


def test_backup_under_traffic_passes_the_drill(cfg: Settings, ledger: Ledger, tmp_path: Path) -> None:
    """Acceptance 5: a backup taken while the ledger and the payments books are written passes the drill."""
    append_entries(ledger, 200)
    payments_dir = tmp_path / "payments"
    with payments_traffic(ledger, payments_dir) as traffic:
        while traffic.transfers < 20 or traffic.ledger_appends < 50:
            pass
        manifest = create_backup(cfg, ledger, payments_db=payments_dir / "payments.db")
        during = traffic.ledger_appends
        while traffic.ledger_appends < during + 20:
            pass  # writers keep going after the snapshot: the drill must not care
    assert not traffic.errors
    cp = manifest.checkpoint
    assert cp is not None
    assert cp["size"] >= 250
    assert manifest.ciphertext["chunks"] > 1
    assert {m.kind for m in manifest.members} == {"sqlite", "keys", "payments"}

    report = restore_drill(cfg, ledger)
    by_name = {c.name: c for c in report.checks}
    assert report.ok, report.to_json()
    assert report.backup_id == manifest.id
    assert by_name["audit root at checkpoint"].ok
    assert "= checkpoint" in by_name["audit root at checkpoint"].detail
    assert by_name["audit ledger verifies (sqlite)"].ok
    assert by_name["payments balances sum to zero"].ok
    assert "EUR 0" in by_name["payments balances sum to zero"].detail
    assert report.ledger_entries is not None
    assert report.ledger_entries >= cp["size"]
    assert 0 <= report.rpo_s < 300
    assert 0 < report.rto_s < 60
    assert not Path(report.restored_to.split(" ")[0]).exists()
    kinds = _kinds(ledger)
    assert kinds.count("backup.create") == 1
    assert kinds[-1] == "backup.restore_drill"
    drill_entry = ledger.tail(1)[0].fields
    assert drill_entry["outcome"] == "ok"
    assert drill_entry["evidence"]["backup_id"] == manifest.id


def test_payload_is_encrypted_and_manifest_describes_it(cfg: Settings, ledger: Ledger) -> None:
    append_entries(ledger, 50)
    manifest = create_backup(cfg, ledger)
    directory = cfg.data_dir / "backups" / manifest.id
    payload = (directory / "payload.bin").read_bytes()
    assert b"test.traffic" not in payload
    assert b"SQLite format 3" not in payload
    written = json.loads((directory / "manifest.json").read_text())
    assert written["header"]["cipher"] == "AES-256-GCM"
    assert written["ciphertext"]["size"] == len(payload)
    assert len(chunk_spans(payload)) == written["ciphertext"]["chunks"]
    assert written["header"]["checkpoint"]["size"] == 50
    evidence = json.dumps(ledger.tail(1)[0].fields["evidence"])
    assert re.search(r"\d{13}", evidence) is None  # nothing the PAN filter could ever refuse
    assert list_backups(cfg)[0].id == manifest.id
    assert sorted(p.name for p in (cfg.data_dir / "backups").iterdir()) == [manifest.id]  # no scratch left


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(position=st.floats(min_value=0, max_value=1, exclude_max=True), bit=st.integers(0, 7))
def test_a_flipped_byte_fails_the_drill_naming_its_chunk(
    cfg: Settings, ledger: Ledger, position: float, bit: int
) -> None:
    if not list_backups(cfg):
        append_entries(ledger, 300)
        create_backup(cfg, ledger)
    info = list_backups(cfg)[0]
    path = info.path / "payload.bin"
    original = path.read_bytes()
    spans = chunk_spans(original)
    assert len(spans) >= 3
    offset = int(position * len(original))
    chunk = next(i for i, (start, end) in enumerate(spans) if start <= offset < end)
    tampered = bytearray(original)
    tampered[offset] ^= 1 << bit
    path.write_bytes(bytes(tampered))
    try:
        with pytest.raises(BackupChunkError) as caught:
            restore_drill(cfg, ledger, info.id)
    finally:
        path.write_bytes(original)
    assert caught.value.chunk == chunk
    assert f"chunk {chunk}" in caught.value.message
    assert ledger.tail(1)[0].fields["outcome"] == "failed"


def test_tampered_manifest_and_truncated_payload_fail(cfg: Settings, ledger: Ledger) -> None:
    append_entries(ledger, 300)
    manifest = create_backup(cfg, ledger)
    directory = cfg.data_dir / "backups" / manifest.id
    text = (directory / "manifest.json").read_text()
    original_payload = (directory / "payload.bin").read_bytes()

    edited = json.loads(text)
    edited["header"]["checkpoint"]["size"] -= 1  # a manifest claiming an earlier checkpoint
    (directory / "manifest.json").write_text(json.dumps(edited))
    with pytest.raises(BackupChunkError, match="chunk 0 failed authentication"):
        restore_drill(cfg, ledger, manifest.id)

    edited = json.loads(text)
    edited["ciphertext"]["sha256"] = "0" * 64
    (directory / "manifest.json").write_text(json.dumps(edited))
    with pytest.raises(IntegrityError, match="ciphertext digest was altered"):
        restore_drill(cfg, ledger, manifest.id)

    (directory / "manifest.json").write_text(text)
    spans = chunk_spans(original_payload)
    (directory / "payload.bin").write_bytes(original_payload[: spans[-2][1]])  # drop the final chunk
    with pytest.raises(BackupChunkError, match="not the last one written"):
        restore_drill(cfg, ledger, manifest.id)
    (directory / "payload.bin").write_bytes(original_payload)
    assert restore_drill(cfg, ledger, manifest.id).ok


def test_wrong_key_fails_naming_the_key(
    cfg: Settings, ledger: Ledger, monkeypatch: pytest.MonkeyPatch, key: str
) -> None:
    append_entries(ledger, 10)
    manifest = create_backup(cfg, ledger)
    other = new_key()
    monkeypatch.setenv(KEY_ENV, other)
    with pytest.raises(InputError, match="different key") as caught:
        restore_drill(cfg, ledger, manifest.id)
    assert caught.value.field == "backup.key"
    assert f"env:{KEY_ENV}" in caught.value.message
    assert key not in str(caught.value)
    assert other not in str(caught.value)


def test_key_never_reaches_logs_manifest_or_audit(
    cfg: Settings, ledger: Ledger, key: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    append_entries(ledger, 20)
    manifest = create_backup(cfg, ledger)
    create_backup(cfg, ledger)
    report = restore_drill(cfg, ledger)
    prune_backups(cfg.model_copy(update={"backup": cfg.backup.model_copy(update={"keep_last": 1})}), ledger)
    raw = bytes.fromhex(key)
    forms = [key, key.upper(), base64.b64encode(raw).decode(), raw.hex()]
    texts = [
        caplog.text,
        json.dumps(report.to_json()),
        repr(manifest),
        *(p.read_text() for p in (cfg.data_dir / "backups").glob("*/manifest.json")),
        *(e.data.decode() for e in ledger.tail(10_000)),
    ]
    for text in texts:
        for form in forms:
            assert form not in text
    store = sqlite3.connect(cfg.data_dir / "finpilot.db").execute("SELECT data FROM entries").fetchall()
    assert all(raw not in row[0] and key.encode() not in row[0] for row in store)
    assert set(_kinds(ledger)) >= {"backup.create", "backup.restore_drill", "backup.prune"}


def test_key_file_must_be_private_and_well_formed(tmp_path: Path) -> None:
    from finpilot.heal import write_backup_key

    path = tmp_path / "backup.key"
    write_backup_key(path)
    assert path.stat().st_mode & 0o777 == 0o600
    with pytest.raises(ConfigError, match="already exists"):
        write_backup_key(path)
    settings = Settings(data_dir=tmp_path / "data", backup=BackupSettings(key=SecretRef(file=path)))
    with open_ledger(settings) as ledger:
        append_entries(ledger, 5)
        manifest = create_backup(settings, ledger)
        assert manifest.header["key_ref"] == f"file:{path}"
        assert restore_drill(settings, ledger).ok
        path.chmod(0o644)
        with pytest.raises(ConfigError, match="readable by group or others") as caught:
            create_backup(settings, ledger)
        assert caught.value.fix == f"chmod 600 {path}"
        path.write_text("not a key at all\n")
        path.chmod(0o600)
        with pytest.raises(ConfigError, match="does not hold a 256-bit key") as bad:
            create_backup(settings, ledger)
        assert "not a key at all" not in str(bad.value)
    with pytest.raises(ConfigError, match="no backup key is configured"):
        create_backup(Settings(data_dir=tmp_path / "d2"), ledger)


def test_unbalanced_payments_books_fail_the_drill(cfg: Settings, ledger: Ledger, tmp_path: Path) -> None:
    db = tmp_path / "payments.db"
    with sqlite3.connect(db) as conn:
        conn.execute("CREATE TABLE accounts (id TEXT PRIMARY KEY, currency TEXT, balance BIGINT)")
        conn.execute("CREATE TABLE transactions (id TEXT PRIMARY KEY)")
        conn.execute("CREATE TABLE postings (txn_id TEXT, account_id TEXT, amount BIGINT)")
        conn.execute("INSERT INTO accounts VALUES ('a', 'EUR', 100), ('b', 'EUR', -90)")
        conn.execute("INSERT INTO transactions VALUES ('t')")
        conn.execute("INSERT INTO postings VALUES ('t', 'a', 100), ('t', 'b', -90)")
    conn.close()
    create_backup(cfg, ledger, payments_db=db)
    report = restore_drill(cfg, ledger)
    failed = {c.name: c.detail for c in report.checks if not c.ok}
    assert not report.ok
    assert set(failed) == {"payments balances sum to zero"}
    assert "EUR sums to 10" in failed["payments balances sum to zero"]
    assert ledger.tail(1)[0].fields["outcome"] == "failed"


def test_missing_payments_db_is_named(cfg: Settings, ledger: Ledger, tmp_path: Path) -> None:
    from finpilot.core import NotFoundError

    with pytest.raises(NotFoundError, match="payments database"):
        create_backup(cfg, ledger, payments_db=tmp_path / "nope.db")
    assert list_backups(cfg) == []
    assert not list((cfg.data_dir / "backups").iterdir())  # no partial backup left behind


_NOW = datetime(2026, 6, 1, tzinfo=UTC)


@given(
    ages=st.lists(st.integers(min_value=0, max_value=400 * 24), max_size=30),
    keep_last=st.none() | st.integers(min_value=1, max_value=10),
    max_age_days=st.none() | st.integers(min_value=1, max_value=60),
)
def test_retention_plan_invariants(ages: list[int], keep_last: int | None, max_age_days: int | None) -> None:
    backups = [(f"b{i:03d}", _NOW - timedelta(hours=hours)) for i, hours in enumerate(ages)]
    max_age = timedelta(days=max_age_days) if max_age_days is not None else None
    keep, prune = retention_plan(backups, keep_last=keep_last, max_age=max_age, now=_NOW)
    created = dict(backups)
    assert sorted(keep + prune) == sorted(created)
    assert not set(keep) & set(prune)
    if not backups:
        return
    newest = max(backups, key=lambda b: (b[1], b[0]))[0]
    assert newest in keep  # never left with nothing to restore
    if keep_last is not None:
        assert len(keep) <= keep_last
    for backup_id in keep:
        if backup_id != newest and max_age is not None:
            assert _NOW - created[backup_id] <= max_age
    # Everything kept is newer than everything pruned (retention never keeps an older one instead).
    if keep and prune:
        assert min(created[k] for k in keep) >= max(created[p] for p in prune)
    if keep_last is None and max_age is None:
        assert prune == []


def test_prune_deletes_oldest_after_auditing(cfg: Settings, ledger: Ledger) -> None:
    ids = []
    for _ in range(4):
        append_entries(ledger, 2)
        ids.append(create_backup(cfg, ledger).id)
    settings2 = cfg.model_copy(update={"backup": cfg.backup.model_copy(update={"keep_last": 2})})
    dry = prune_backups(settings2, ledger, dry_run=True)
    assert dry.pruned == [ids[1], ids[0]]
    assert len(list_backups(cfg)) == 4
    report = prune_backups(settings2, ledger)
    assert report.kept == [ids[3], ids[2]]
    assert report.pruned == [ids[1], ids[0]]
    assert [b.id for b in list_backups(cfg)] == [ids[3], ids[2]]
    entry = ledger.tail(1)[0].fields
    assert entry["kind"] == "backup.prune"
    assert entry["evidence"]["pruned"] == [ids[1], ids[0]]
    assert prune_backups(settings2, ledger).pruned == []  # idempotent: nothing more to do


def test_damaged_backup_is_listed_and_never_pruned(cfg: Settings, ledger: Ledger) -> None:
    append_entries(ledger, 2)
    good = create_backup(cfg, ledger)
    broken = cfg.data_dir / "backups" / "broken"
    broken.mkdir()
    (broken / "manifest.json").write_text("{not json")
    listed = list_backups(cfg)
    assert [b.id for b in listed] == [good.id, "broken"]
    assert "not readable JSON" in (listed[1].problem or "")
    settings1 = cfg.model_copy(update={"backup": cfg.backup.model_copy(update={"keep_last": 1})})
    assert prune_backups(settings1, ledger).unreadable == ["broken"]
    assert broken.is_dir()


class _Ticks:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_scheduler_runs_on_interval_and_survives_failures() -> None:
    clock = _Ticks()
    runs: list[float] = []
    errors: list[BaseException] = []

    def job() -> None:
        runs.append(clock.now)
        if len(runs) == 2:
            raise RuntimeError("disk full")

    scheduler = BackupScheduler(job, 60, clock=clock, on_error=errors.append)
    assert not scheduler.run_pending()
    assert scheduler.next_due == 160
    clock.now = 160
    assert scheduler.run_pending()
    clock.now = 219
    assert not scheduler.run_pending()
    clock.now = 220
    assert scheduler.run_pending()  # fails, reported, scheduler keeps its rhythm
    clock.now = 1000  # a long stall: missed runs collapse into one
    assert scheduler.run_pending()
    assert not scheduler.run_pending()
    assert runs == [160, 220, 1000]
    assert scheduler.next_due == 1060
    assert [str(e) for e in errors] == ["disk full"]
    assert scheduler.failures == 1


def test_scheduler_thread_takes_real_backups(cfg: Settings, ledger: Ledger) -> None:
    import threading

    done = threading.Event()

    def job() -> None:
        create_backup(cfg, ledger)
        if len(list_backups(cfg)) >= 2:
            done.set()

    scheduler = BackupScheduler(job, 0.05, run_at_start=True)
    scheduler.start()
    try:
        assert done.wait(30)
    finally:
        scheduler.stop(timeout=30)
    assert scheduler.failures == 0
    assert len(list_backups(cfg)) >= 2


@pytest.mark.postgres
def test_postgres_backend_round_trip(tmp_path: Path, key: str, pg_dsn: str, pg_schema: str) -> None:
    settings = Settings(
        data_dir=tmp_path / "data",
        storage=StorageSettings(dsn=pg_dsn, schema_name=pg_schema),
        backup=BackupSettings(key=SecretRef(env=KEY_ENV)),
    )
    with open_ledger(settings) as ledger:
        append_entries(ledger, 120)
        manifest = create_backup(settings, ledger)
        append_entries(ledger, 10)  # after the backup: not in it, and no reason to fail
        assert [m.name for m in manifest.members if m.kind == "postgres"] == [f"postgres/{pg_schema}.dump"]
        report = restore_drill(settings, ledger)
    by_name = {c.name: c for c in report.checks}
    assert report.ok, report.to_json()
    assert by_name["audit ledger verifies (postgres, scratch database)"].ok
    assert by_name["audit root at checkpoint"].ok
    assert report.ledger_entries is not None
    assert report.ledger_entries >= 120
    assert os.environ.get(KEY_ENV) == key


def test_digests_in_evidence_can_never_look_like_card_numbers() -> None:
    from finpilot.audit import contains_pan
    from finpilot.heal._backup._store import integrity

    # A real SHA-256 can hold a Luhn-valid run like this one, with letters and digits around it; the
    # ledger once refused such digests. (Only letters around it would be a crafted string: refused.)
    unlucky = "4111111111111111" + "a0b1c2d3e4f5" * 4
    assert not contains_pan(integrity(unlucky).encode())
    assert not contains_pan(unlucky.encode())  # the PAN scan exempts whole digest-length hex tokens
    assert contains_pan(("4111111111111111" + "ab" * 24).encode())
    assert integrity("00" * 32) == "sha256-" + base64.b64encode(bytes(32)).decode()


def test_drill_can_keep_its_restore_for_inspection(cfg: Settings, ledger: Ledger, tmp_path: Path) -> None:
    append_entries(ledger, 5)
    create_backup(cfg, ledger)
    report = restore_drill(cfg, ledger, scratch=tmp_path / "drills" / "new", keep=True)
    restored = Path(report.restored_to)
    assert report.ok
    assert restored.parent == tmp_path / "drills" / "new"
    assert (restored / "data" / "finpilot.db").is_file()
    assert (restored / "data" / "keys").stat().st_mode & 0o777 == 0o700
