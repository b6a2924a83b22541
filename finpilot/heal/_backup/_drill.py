"""Restore drills: decrypt a backup into a scratch location and prove it is usable.

A drill checks, in order: every chunk authenticates (AES-GCM, bound to the manifest), the
payload and each file match their SHA-256 in the manifest, each SQLite file passes
``PRAGMA integrity_check``, the restored audit ledger verifies end to end and its root at
the checkpoint recorded in the manifest equals that checkpoint's signed root, and (when the
payments database is included) the books balance: every transaction and every currency sums
to zero and each balance equals its postings. It reports:

* RPO: how much would be lost restoring this backup now, i.e. the drill's start minus the
  moment the snapshot began (anything committed after that is not in the backup);
* RTO: the wall time the drill took to decrypt, restore and verify.

A tampered payload fails naming the chunk; a wrong key fails naming the key reference.
"""

from __future__ import annotations

import contextlib
import hashlib
import lzma
import shutil
import sqlite3
import tarfile
import tempfile
import time
import uuid
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlsplit, urlunsplit

import psycopg
from psycopg import sql

from finpilot.audit import Ledger, open_ledger
from finpilot.audit.kinds import BACKUP_RESTORE_DRILL
from finpilot.core import (
    AuditSettings,
    Clock,
    InputError,
    IntegrityError,
    Settings,
    StorageError,
    StorageSettings,
    safe_child,
    utc_now,
)
from finpilot.heal._backup._crypto import BackupKey, decrypt_chunks, load_key
from finpilot.heal._backup._manifest import PAYLOAD, BackupManifest, read_manifest
from finpilot.heal._backup._sources import pg_binary, redact_dsn, run_pg_tool, sha256_file
from finpilot.heal._backup._store import DEFAULT_ACTOR, find_backup


@dataclass(frozen=True)
class RestoreDrillCheck:
    """One invariant the drill checked."""

    name: str
    ok: bool
    detail: str

    def to_json(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {"name": self.name, "ok": self.ok, "detail": self.detail}


@dataclass
class RestoreDrillReport:
    """The outcome of one restore drill."""

    backup_id: str
    snapshot_started_at: str
    drilled_at: str
    rpo_s: float
    rto_s: float
    restored_to: str
    checks: list[RestoreDrillCheck] = field(default_factory=list)
    ledger_entries: int | None = None

    @property
    def ok(self) -> bool:
        """True when every check passed."""
        return bool(self.checks) and all(c.ok for c in self.checks)

    def to_json(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "backup_id": self.backup_id,
            "ok": self.ok,
            "snapshot_started_at": self.snapshot_started_at,
            "drilled_at": self.drilled_at,
            "rpo_s": round(self.rpo_s, 3),
            "rto_s": round(self.rto_s, 3),
            "restored_to": self.restored_to,
            "ledger_entries": self.ledger_entries,
            "checks": [c.to_json() for c in self.checks],
        }


class _Decompressor(Protocol):
    def decompress(self, data: bytes, /) -> bytes: ...


class _Identity:
    def decompress(self, data: bytes, /) -> bytes:
        return data


def _decompressor(name: str) -> _Decompressor:
    if name == "zlib":
        return zlib.decompressobj()
    if name == "lzma":
        return lzma.LZMADecompressor()
    if name == "none":
        return _Identity()
    raise IntegrityError(f"the manifest names an unknown compression {name!r}")


def decrypt_backup(directory: Path, key: BackupKey, target: Path) -> BackupManifest:
    """Authenticate and decrypt a backup's payload into the tar file ``target``; return its manifest."""
    manifest = read_manifest(directory)
    header = manifest.header
    if header["key_id"] != key.key_id:
        raise InputError(
            f"backup {manifest.id} was encrypted with a different key (it expects {header.get('key_ref')}, "
            f"key id {header['key_id']}; the configured {key.ref} has key id {key.key_id})",
            field="backup.key",
            fix="configure the key this backup was made with",
        )
    payload = directory / PAYLOAD
    if not payload.is_file():
        raise IntegrityError(f"backup {manifest.id}: {PAYLOAD} is missing")
    decomp = _decompressor(str(header["compression"]))
    digest = hashlib.sha256()
    size = 0
    try:
        with payload.open("rb") as src, target.open("wb") as out:
            for plain in decrypt_chunks(key, manifest.header_digest(), src, max_chunk=int(header["chunk_bytes"])):
                data = decomp.decompress(plain)
                digest.update(data)
                size += len(data)
                out.write(data)
    except (zlib.error, lzma.LZMAError) as exc:
        # Authenticated bytes that do not decompress: the writer was broken, not an attacker.
        raise IntegrityError(f"backup {manifest.id}: the payload does not decompress: {exc}") from None
    want = header["plaintext"]
    if digest.hexdigest() != want["sha256"] or size != want["size"]:
        raise IntegrityError(f"backup {manifest.id}: the decrypted archive does not match its SHA-256 in the manifest")
    if sha256_file(payload) != manifest.ciphertext.get("sha256"):
        # Every chunk authenticated, so the payload is genuine and the unbound section was edited.
        raise IntegrityError(f"backup {manifest.id}: manifest.json's ciphertext digest was altered")
    return manifest


def _extract(manifest: BackupManifest, archive: Path, root: Path) -> dict[str, Path]:
    """Write each member the manifest lists to its place under ``root``; nothing else is extracted."""
    wanted = {m.name: m for m in manifest.members}
    paths: dict[str, Path] = {}
    with tarfile.open(archive, "r:") as tar:
        for info in tar:
            member = wanted.get(info.name)
            if member is None or not info.isfile():
                raise IntegrityError(f"backup {manifest.id}: the archive holds {info.name!r}, which the manifest lacks")
            # The name is authenticated by now, but whoever holds the key could still write
            # "../x" into a manifest: the restore stays under its scratch directory regardless.
            target = safe_child(root, member.name, field="members", nested=True)
            target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            source = tar.extractfile(info)
            assert source is not None  # a regular file always has a stream
            with source, target.open("wb") as out:
                shutil.copyfileobj(source, out)
            target.chmod(0o600)
            paths[member.name] = target
    return paths


def _check_members(manifest: BackupManifest, paths: dict[str, Path]) -> list[RestoreDrillCheck]:
    checks = []
    for member in manifest.members:
        path = paths.get(member.name)
        if path is None:
            checks.append(RestoreDrillCheck(f"file {member.name}", False, "missing from the archive"))
            continue
        ok = sha256_file(path) == member.sha256 and path.stat().st_size == member.size
        checks.append(
            RestoreDrillCheck(f"file {member.name}", ok, "sha256 and size match" if ok else "sha256 or size differ")
        )
        if member.kind in ("sqlite", "payments"):
            checks.append(_sqlite_integrity(member.name, path))
    return checks


def _sqlite_integrity(name: str, path: Path) -> RestoreDrillCheck:
    try:
        with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as conn:
            rows = conn.execute("PRAGMA integrity_check").fetchall()
    except sqlite3.Error as exc:
        return RestoreDrillCheck(f"sqlite integrity {name}", False, f"cannot open: {exc}")
    ok = rows == [("ok",)]
    return RestoreDrillCheck(f"sqlite integrity {name}", ok, "ok" if ok else "; ".join(str(r[0]) for r in rows[:5]))


def _check_ledger(ledger: Ledger, manifest: BackupManifest, where: str) -> tuple[list[RestoreDrillCheck], int]:
    checks: list[RestoreDrillCheck] = []
    header = manifest.header
    same_key = ledger.verifier_key() == header.get("verifier_key")
    checks.append(
        RestoreDrillCheck(
            "audit signing key",
            same_key,
            "the restored key is the log's key" if same_key else "the restored key differs from the log's key",
        )
    )
    cp = manifest.checkpoint
    report = ledger.verify(trusted_checkpoint=cp["note"] if cp else None)
    problems = "; ".join(p.detail for p in report.problems[:3])
    checks.append(
        RestoreDrillCheck(
            f"audit ledger verifies ({where})",
            report.ok,
            f"{report.entries} entries, {report.checkpoints} checkpoints verified" if report.ok else problems,
        )
    )
    if cp is None:
        checks.append(
            RestoreDrillCheck("audit root at checkpoint", True, "the ledger had no signed checkpoint at backup time")
        )
    else:
        size = int(cp["size"])
        try:
            root = ledger.consistency_proof(size, size).old_root.hex()
        except (InputError, IntegrityError) as exc:
            root = f"unavailable ({exc.message})"
        ok = root == cp["root"]
        # 12 hex digits at most in text that is audited: never long enough to look like a card number.
        detail = f"root at size {size} is {root[:12]}…" + (
            " = checkpoint" if ok else f", checkpoint {cp['seq']} says {cp['root'][:12]}…"
        )
        checks.append(RestoreDrillCheck("audit root at checkpoint", ok, detail))
    return checks, report.entries


def _check_books(path: Path) -> RestoreDrillCheck:
    """Double entry, with the SQL run directly (finpilot never imports the payments example)."""
    try:
        with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as conn:
            totals = conn.execute("SELECT currency, SUM(balance) FROM accounts GROUP BY currency").fetchall()
            unbalanced = conn.execute(
                "SELECT COUNT(*) FROM (SELECT txn_id FROM postings GROUP BY txn_id HAVING SUM(amount) <> 0)"
            ).fetchone()[0]
            drift = conn.execute(
                "SELECT COUNT(*) FROM (SELECT a.id FROM accounts a LEFT JOIN postings p ON p.account_id = a.id "
                "GROUP BY a.id, a.balance HAVING a.balance <> COALESCE(SUM(p.amount), 0))"
            ).fetchone()[0]
            (count,) = conn.execute("SELECT COUNT(*) FROM transactions").fetchone()
    except sqlite3.Error as exc:
        return RestoreDrillCheck("payments balances sum to zero", False, f"cannot read the payments schema: {exc}")
    problems = [f"{cur} sums to {total}" for cur, total in totals if total != 0]
    if unbalanced:
        problems.append(f"{unbalanced} transactions do not sum to zero")
    if drift:
        problems.append(f"{drift} accounts' balances differ from their postings")
    summary = ", ".join(f"{cur} {total}" for cur, total in totals) or "no accounts"
    detail = f"{count} transactions; totals {summary}" if not problems else "; ".join(problems)
    return RestoreDrillCheck("payments balances sum to zero", not problems, detail)


@contextlib.contextmanager
def _scratch_database(dsn: str) -> Iterator[str]:
    """A fresh PostgreSQL database beside the source one, dropped afterwards."""
    name = f"finpilot_drill_{uuid.uuid4().hex[:12]}"
    try:
        admin = psycopg.connect(dsn, autocommit=True)
    except psycopg.Error as exc:
        raise StorageError(f"cannot connect to {redact_dsn(dsn)} for the drill: {type(exc).__name__}") from None
    with admin:
        try:
            admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        except psycopg.Error as exc:
            raise StorageError(
                f"cannot create a scratch database on {redact_dsn(dsn)}: {exc}",
                fix="the drill needs CREATEDB to restore a PostgreSQL backup",
            ) from None
        try:
            # storage.dsn is always a URL (its validator says so); swap only the database name.
            yield urlunsplit(urlsplit(dsn)._replace(path=f"/{name}"))
        finally:
            admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def _ledger_settings(manifest: BackupManifest, data_dir: Path, storage: StorageSettings) -> Settings:
    return Settings(data_dir=data_dir, storage=storage, audit=AuditSettings(origin=str(manifest.header.get("origin"))))


def restore_drill(
    settings: Settings,
    ledger: Ledger,
    backup_id: str | None = None,
    *,
    actor: str = DEFAULT_ACTOR,
    clock: Clock = utc_now,
    scratch: Path | None = None,
    keep: bool = False,
    key: BackupKey | None = None,
) -> RestoreDrillReport:
    """Restore a backup (default: the newest) into a scratch location, check its invariants, record the drill.

    A backup that cannot be decrypted (tampered, truncated, wrong key) raises after its failed
    drill is recorded in ``ledger``; a backup that decrypts but fails a check returns a report
    whose ``ok`` is false.
    """
    info = find_backup(settings, backup_id)
    key = key or load_key(settings.backup)
    start = time.monotonic()
    drilled = clock()
    if scratch is not None:
        scratch.mkdir(parents=True, exist_ok=True)
    base = Path(tempfile.mkdtemp(prefix="finpilot-drill-", dir=scratch))
    try:
        try:
            manifest = decrypt_backup(info.path, key, base / "plain.tar")
        except (IntegrityError, InputError) as exc:
            _record(ledger, actor, info.id, "failed", {"backup_id": info.id, "error": exc.message})
            raise
        report = RestoreDrillReport(
            backup_id=manifest.id,
            snapshot_started_at=str(manifest.header["snapshot_started_at"]),
            drilled_at=drilled.isoformat(),
            rpo_s=max(0.0, (drilled - manifest.created_at).total_seconds()),
            rto_s=0.0,
            restored_to=str(base),
        )
        report.checks.append(
            RestoreDrillCheck(
                "decrypt", True, f"{manifest.ciphertext.get('chunks')} chunks authenticated; archive sha256 matches"
            )
        )
        paths = _extract(manifest, base / "plain.tar", base)
        (base / "plain.tar").unlink()
        report.checks += _check_members(manifest, paths)
        report.checks += _drill_ledger(settings, manifest, base, paths, report)
        if "payments/payments.db" in paths:
            report.checks.append(_check_books(paths["payments/payments.db"]))
        report.rto_s = time.monotonic() - start
    finally:
        if not keep:
            shutil.rmtree(base, ignore_errors=True)
    if not keep:
        report.restored_to += " (removed after the drill)"
    _record(ledger, actor, report.backup_id, "ok" if report.ok else "failed", _drill_evidence(report))
    return report


def _drill_ledger(
    settings: Settings, manifest: BackupManifest, base: Path, paths: dict[str, Path], report: RestoreDrillReport
) -> list[RestoreDrillCheck]:
    data_dir = base / "data"
    if data_dir.is_dir():
        data_dir.chmod(0o700)
    if manifest.header.get("ledger_backend") == "postgres":
        dumps = [p for name, p in paths.items() if name.startswith("postgres/")]
        if not dumps or not settings.storage.dsn:
            return [
                RestoreDrillCheck(
                    "audit ledger (postgres)", False, "no dump in the backup, or no storage.dsn to restore to"
                )
            ]
        schema = str(manifest.header.get("ledger_schema"))
        pg_restore = pg_binary("pg_restore", settings.backup.pg_dump)
        with _scratch_database(settings.storage.dsn) as drill_dsn:
            # Only the database name on the command line; host, user and password travel in PG* variables.
            dbname = urlsplit(drill_dsn).path.lstrip("/")
            run_pg_tool(
                [str(pg_restore), "--no-owner", "--exit-on-error", f"--dbname={dbname}", str(dumps[0])], drill_dsn
            )
            storage = StorageSettings(dsn=drill_dsn, schema_name=schema)
            with open_ledger(_ledger_settings(manifest, data_dir, storage)) as restored:
                checks, report.ledger_entries = _check_ledger(restored, manifest, "postgres, scratch database")
        return checks
    if "data/finpilot.db" not in paths:
        return [RestoreDrillCheck("audit ledger", False, "the backup holds no data/finpilot.db")]
    with open_ledger(_ledger_settings(manifest, data_dir, StorageSettings())) as restored:
        checks, report.ledger_entries = _check_ledger(restored, manifest, "sqlite")
    return checks


def _drill_evidence(report: RestoreDrillReport) -> dict[str, Any]:
    return {
        "backup_id": report.backup_id,
        "rpo_s": round(report.rpo_s, 3),
        "rto_s": round(report.rto_s, 3),
        "ledger_entries": report.ledger_entries,
        "checks": [c.to_json() for c in report.checks],
    }


def _record(ledger: Ledger, actor: str, backup_id: str, outcome: str, evidence: dict[str, Any]) -> None:
    ledger.append(
        BACKUP_RESTORE_DRILL.entry(
            actor=actor,
            action="restore_drill",
            subject=f"backup:{backup_id}",
            outcome=outcome,
            evidence=evidence,
        )
    )
