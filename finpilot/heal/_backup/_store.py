"""Encrypted backups: create, list, prune by retention, and take them on a schedule.

``create_backup`` snapshots the audit ledger and the other SQLite databases in the data
directory (online backup API), the PostgreSQL schema when the ledger lives there (pg_dump),
the ledger's signing key (so a restored log can be verified and extended) and, when
configured, the payments service's database. The files go into one tar stream that is
compressed, then encrypted in AES-256-GCM chunks (see :mod:`finpilot.heal._backup._crypto`).
Every action is an audit entry, written before the backup becomes visible or is deleted.
"""

from __future__ import annotations

import base64
import lzma
import os
import shutil
import tarfile
import threading
import time
import uuid
import zlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, BinaryIO, Protocol

from finpilot.audit import Ledger
from finpilot.audit.kinds import BACKUP_CREATE, BACKUP_PRUNE
from finpilot.core import (
    Clock,
    InputError,
    IntegrityError,
    NotFoundError,
    Settings,
    StorageError,
    private_dir,
    rfc3339,
    safe_child,
    utc_now,
)
from finpilot.heal._backup._crypto import BackupKey, encrypt_chunks, load_key
from finpilot.heal._backup._manifest import PAYLOAD, BackupManifest, Member, header_digest, read_manifest
from finpilot.heal._backup._sources import (
    dump_postgres,
    find_sqlite,
    pg_binary,
    redact_dsn,
    sha256_file,
    snapshot_sqlite,
)

DEFAULT_ACTOR = "finpilot:backup"
_READ = 1 << 20


class _Compressor(Protocol):
    def compress(self, data: bytes, /) -> bytes: ...
    def flush(self) -> bytes: ...


class _Identity:
    def compress(self, data: bytes, /) -> bytes:
        return data

    def flush(self) -> bytes:
        return b""


def compressor(name: str) -> _Compressor:
    """A streaming compressor for ``backup.compression``."""
    if name == "zlib":
        return zlib.compressobj(6)
    if name == "lzma":
        return lzma.LZMACompressor()
    return _Identity()


def backup_dir(settings: Settings) -> Path:
    """Where backups live: ``backup.dir``, else ``<data_dir>/backups``."""
    return settings.backup.dir if settings.backup.dir is not None else Path(settings.data_dir) / "backups"


def _new_id(now: datetime) -> str:
    # Sortable by time, unique across processes.
    return now.strftime("%Y%m%dT%H%M%S") + f"{now.microsecond // 1000:03d}Z-{uuid.uuid4().hex[:8]}"


def _chunks(source: BinaryIO, comp: _Compressor, size: int) -> Iterator[tuple[bytes, bool]]:
    """Compress ``source`` and cut the result into ``size``-byte pieces; the final piece is marked last."""
    buf = bytearray()
    for block in iter(lambda: source.read(_READ), b""):
        buf += comp.compress(block)
        # Hold back at least one byte past a full chunk, so the final chunk is known to be final.
        while len(buf) > size:
            yield bytes(buf[:size]), False
            del buf[:size]
    buf += comp.flush()
    while len(buf) > size:
        yield bytes(buf[:size]), False
        del buf[:size]
    yield bytes(buf), True


@dataclass(frozen=True)
class _Captured:
    path: Path
    member: Member


def _capture(settings: Settings, scratch: Path, payments_db: Path | None) -> list[_Captured]:
    data_dir = Path(settings.data_dir)
    out: list[_Captured] = []

    def add(path: Path, name: str, kind: str, source: str) -> None:
        out.append(_Captured(path, Member(name, kind, source, path.stat().st_size, sha256_file(path))))

    for db in find_sqlite(data_dir):
        target = scratch / f"sqlite-{db.name}"
        snapshot_sqlite(db, target)
        add(target, f"data/{db.name}", "sqlite", f"sqlite:{db}")
    keys = data_dir / "keys"
    if keys.is_dir():
        for key in sorted(p for p in keys.iterdir() if p.is_file()):
            add(key, f"data/keys/{key.name}", "keys", f"file:{key}")
    if settings.storage.dsn:
        dsn, schema = settings.storage.dsn, settings.storage.schema_name
        target = scratch / f"pg-{schema}.dump"
        dump_postgres(dsn, schema, target, pg_binary("pg_dump", settings.backup.pg_dump))
        add(target, f"postgres/{schema}.dump", "postgres", f"{redact_dsn(dsn)} schema {schema}")
    if payments_db is not None:
        if not payments_db.is_file():
            raise NotFoundError(
                f"payments database {payments_db} does not exist",
                field="backup.payments_db",
                fix="give the path of the payments service's payments.db",
            )
        target = scratch / "payments.db"
        snapshot_sqlite(payments_db, target)
        add(target, "payments/payments.db", "payments", f"sqlite:{payments_db}")
    return out


def _write_tar(captured: Sequence[_Captured], target: Path) -> None:
    with tarfile.open(target, "w", format=tarfile.PAX_FORMAT) as tar:
        for item in captured:
            info = tar.gettarinfo(str(item.path), arcname=item.member.name)
            # Who owned the files here says nothing about the backup, and may say too much.
            info.uid = info.gid = 0
            info.uname = info.gname = ""
            info.mode = 0o600
            with item.path.open("rb") as fh:
                tar.addfile(info, fh)


def _checkpoint_json(ledger: Ledger) -> dict[str, Any] | None:
    cp = ledger.checkpoint()  # sign what is there now, so the checkpoint sits close to the snapshot
    if cp is None:
        return None
    return {"seq": cp.seq, "size": cp.size, "root": cp.root.hex(), "note": cp.note, "created_at": cp.created_at}


def create_backup(
    settings: Settings,
    ledger: Ledger,
    *,
    actor: str = DEFAULT_ACTOR,
    clock: Clock = utc_now,
    payments_db: Path | None = None,
    key: BackupKey | None = None,
) -> BackupManifest:
    """Take one encrypted backup; return its manifest. ``payments_db`` defaults to ``backup.payments_db``."""
    cfg = settings.backup
    key = key or load_key(cfg)
    payments_db = payments_db if payments_db is not None else cfg.payments_db
    root = private_dir(backup_dir(settings))
    started = clock()
    backup_id = _new_id(started)
    scratch = root / f".scratch-{backup_id}"
    partial = root / f".partial-{backup_id}"
    scratch.mkdir(mode=0o700)
    partial.mkdir(mode=0o700)
    try:
        # The checkpoint first: the log only grows, so everything it signs is in the snapshot after it.
        checkpoint = _checkpoint_json(ledger)
        snapshot_started = clock()
        captured = _capture(settings, scratch, payments_db)
        snapshot_finished = clock()
        plain = scratch / "plain.tar"
        _write_tar(captured, plain)
        header: dict[str, Any] = {
            "id": backup_id,
            "created_at": rfc3339(started),
            "snapshot_started_at": snapshot_started.isoformat(),
            "snapshot_finished_at": snapshot_finished.isoformat(),
            "origin": ledger.origin,
            "verifier_key": ledger.verifier_key(),
            "ledger_backend": "postgres" if settings.storage.dsn else "sqlite",
            "ledger_schema": settings.storage.schema_name if settings.storage.dsn else None,
            "checkpoint": checkpoint,
            "members": [c.member.to_json() for c in captured],
            "plaintext": {"format": "tar", "size": plain.stat().st_size, "sha256": sha256_file(plain)},
            "compression": cfg.compression,
            "cipher": "AES-256-GCM",
            "chunk_bytes": cfg.chunk_bytes,
            "key_ref": key.ref,
            "key_id": key.key_id,
        }
        payload = partial / PAYLOAD
        with plain.open("rb") as src, os.fdopen(os.open(payload, os.O_WRONLY | os.O_CREAT, 0o600), "wb") as out:
            count = encrypt_chunks(
                key, header_digest(header), _chunks(src, compressor(cfg.compression), cfg.chunk_bytes), out
            )
            out.flush()
            os.fsync(out.fileno())
        manifest = BackupManifest(
            header,
            {"file": PAYLOAD, "size": payload.stat().st_size, "sha256": sha256_file(payload), "chunks": count},
        )
        manifest.write(partial)
        ledger.append(
            BACKUP_CREATE.entry(
                actor=actor,
                action="create",
                subject=f"backup:{backup_id}",
                outcome="ok",
                evidence=_evidence(manifest, root),
            )
        )
        os.rename(partial, root / backup_id)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return manifest


def integrity(hex_digest: str) -> str:
    """A SHA-256 as ``sha256-<base64>`` (the Subresource Integrity form), for audit evidence.

    Hex is avoided there on purpose: about one SHA-256 in 500 holds a 13-19 digit run that
    passes the Luhn check, which the ledger rightly refuses as a possible card number.
    """
    return "sha256-" + base64.b64encode(bytes.fromhex(hex_digest)).decode()


def _evidence(manifest: BackupManifest, root: Path) -> dict[str, Any]:
    cp = manifest.checkpoint
    return {
        "backup_id": manifest.id,
        "location": str(root / manifest.id),
        "snapshot_started_at": manifest.header["snapshot_started_at"],
        "members": [
            {"name": m.name, "kind": m.kind, "size": m.size, "digest": integrity(m.sha256)} for m in manifest.members
        ],
        "plaintext_digest": integrity(manifest.header["plaintext"]["sha256"]),
        "ciphertext_digest": integrity(manifest.ciphertext["sha256"]),
        "ciphertext_size": manifest.ciphertext["size"],
        "chunks": manifest.ciphertext["chunks"],
        "key_ref": manifest.header["key_ref"],
        "checkpoint": None if cp is None else {"seq": cp["seq"], "size": cp["size"], "root": integrity(cp["root"])},
    }


@dataclass(frozen=True)
class BackupInfo:
    """One backup as listed: its manifest, or the problem that kept it from being read."""

    id: str
    path: Path
    created_at: datetime | None
    manifest: BackupManifest | None
    problem: str | None = None

    def to_json(self) -> dict[str, Any]:
        """JSON-ready form."""
        m = self.manifest
        cp = m.checkpoint if m is not None else None
        return {
            "id": self.id,
            "path": str(self.path),
            "created_at": self.created_at.isoformat() if self.created_at else None,
            "size": m.ciphertext.get("size") if m is not None else None,
            "members": [x.name for x in m.members] if m is not None else [],
            "checkpoint_size": cp["size"] if cp else None,
            "problem": self.problem,
        }


def list_backups(settings: Settings) -> list[BackupInfo]:
    """Every finished backup, newest first; an unreadable one is listed with its problem."""
    root = backup_dir(settings)
    if not root.is_dir():
        return []
    out: list[BackupInfo] = []
    for path in root.iterdir():
        if path.name.startswith(".") or not path.is_dir():
            continue
        try:
            manifest = read_manifest(path)
        except IntegrityError as exc:
            out.append(BackupInfo(path.name, path, None, None, exc.message))
            continue
        out.append(BackupInfo(manifest.id, path, manifest.created_at, manifest))
    # Unreadable ones sort last: they cannot be placed in time.
    out.sort(key=lambda b: (b.created_at is not None, b.created_at or datetime.min, b.id), reverse=True)
    return out


def find_backup(settings: Settings, backup_id: str | None) -> BackupInfo:
    """A backup by id, or the newest readable one."""
    backups = list_backups(settings)
    if backup_id is None:
        for info in backups:
            if info.manifest is not None:
                return info
        raise NotFoundError(f"no backups in {backup_dir(settings)}", fix="run `finpilot backup create` first")
    for info in backups:
        if info.id == backup_id:
            return info
    raise NotFoundError(f"no backup {backup_id!r}", field="backup_id", fix="see `finpilot backup list`")


def retention_plan(
    backups: Sequence[tuple[str, datetime]],
    *,
    keep_last: int | None,
    max_age: timedelta | None,
    now: datetime,
) -> tuple[list[str], list[str]]:
    """Split backup ids into ``(keep, prune)``, both newest first.

    A backup is kept when it is among the ``keep_last`` newest and no older than ``max_age``;
    the newest backup is always kept, so age alone never leaves nothing to restore.
    """
    if keep_last is not None and keep_last < 1:
        raise InputError("keep_last must be at least 1", field="backup.keep_last")
    ordered = sorted(backups, key=lambda b: (b[1], b[0]), reverse=True)
    keep: list[str] = []
    prune: list[str] = []
    for rank, (backup_id, created) in enumerate(ordered):
        too_many = keep_last is not None and rank >= keep_last
        too_old = max_age is not None and now - created > max_age
        if rank == 0 or not (too_many or too_old):
            keep.append(backup_id)
        else:
            prune.append(backup_id)
    return keep, prune


@dataclass(frozen=True)
class PruneReport:
    """What a prune kept and removed (ids, newest first).

    ``unreadable`` backups (directory names) are never removed; ``problems`` says why each is
    unreadable: a damaged manifest, or one whose ``id`` is not its directory's name.
    """

    kept: list[str]
    pruned: list[str]
    unreadable: list[str]
    problems: dict[str, str] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {"kept": self.kept, "pruned": self.pruned, "unreadable": self.unreadable, "problems": self.problems}


def prune_backups(
    settings: Settings,
    ledger: Ledger,
    *,
    actor: str = DEFAULT_ACTOR,
    now: datetime | None = None,
    dry_run: bool = False,
) -> PruneReport:
    """Delete backups outside the retention policy; the audit entry is written before anything is deleted."""
    cfg = settings.backup
    backups = list_backups(settings)
    dated = [(b.id, b.created_at) for b in backups if b.created_at is not None]
    unreadable = [b for b in backups if b.created_at is None]
    max_age = timedelta(seconds=cfg.max_age_s) if cfg.max_age_s is not None else None
    keep, prune = retention_plan(dated, keep_last=cfg.keep_last, max_age=max_age, now=now or utc_now())
    report = PruneReport(keep, prune, [b.id for b in unreadable], {b.id: b.problem or "" for b in unreadable})
    if dry_run or not prune:
        return report
    ledger.append(
        BACKUP_PRUNE.entry(
            actor=actor,
            action="prune",
            subject=f"backups:{backup_dir(settings)}",
            outcome="ok",
            evidence={
                "pruned": prune,
                "kept": keep,
                "keep_last": cfg.keep_last,
                # The backup.prune kind (v1) records the age in days; the setting is in seconds.
                "max_age_days": cfg.max_age_s / 86400 if cfg.max_age_s is not None else None,
            },
        )
    )
    root = backup_dir(settings)
    listed = {b.id: b.path for b in backups}
    for backup_id in prune:
        # The directory that was listed, checked again (read_manifest tied its name to the id):
        # never a path rebuilt from what a manifest says.
        path = safe_child(root, listed[backup_id].name, field="id")
        try:
            shutil.rmtree(path)
        except OSError as exc:
            raise StorageError(f"cannot delete backup {backup_id}: {exc}") from None
    return report


class BackupScheduler:
    """Runs a backup job every ``interval_s`` seconds on a daemon thread (or step by step with :meth:`run_pending`).

    ``job`` is typically ``lambda: (create_backup(...), prune_backups(...))``. A failing job is
    handed to ``on_error`` and retried at the next interval; the scheduler keeps running.
    """

    def __init__(
        self,
        job: Callable[[], object],
        interval_s: float,
        *,
        on_error: Callable[[BaseException], None] | None = None,
        clock: Callable[[], float] = time.monotonic,
        run_at_start: bool = False,
    ) -> None:
        if interval_s <= 0:
            raise InputError("interval_s must be above 0", field="backup.interval_s")
        self._job = job
        self._interval = interval_s
        self._on_error = on_error
        self._clock = clock
        self._next = clock() if run_at_start else clock() + interval_s
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.runs = 0
        self.failures = 0

    @property
    def next_due(self) -> float:
        """Clock time of the next run."""
        return self._next

    def run_pending(self) -> bool:
        """Run the job if it is due; return whether it ran. Missed intervals collapse into one run."""
        now = self._clock()
        if now < self._next:
            return False
        while self._next <= now:
            self._next += self._interval
        self.runs += 1
        try:
            self._job()
        except Exception as exc:  # a scheduler must outlive one failed backup; the caller hears of it
            self.failures += 1
            if self._on_error is not None:
                self._on_error(exc)
        return True

    def start(self) -> None:
        """Start the background thread."""
        if self._thread is not None:
            return
        self._thread = threading.Thread(target=self._loop, name="finpilot-backup-scheduler", daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        while not self._stop.is_set():
            self.run_pending()
            self._stop.wait(max(0.0, self._next - self._clock()))

    def stop(self, timeout: float | None = None) -> None:
        """Stop the thread after the job in progress, if any."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None
