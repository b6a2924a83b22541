"""Kinds of the backup subsystem: encrypted backups taken, pruned, failed, and restore drills."""

from __future__ import annotations

from pydantic import Field

from finpilot.audit._kind import KINDS, EntryKind, Evidence


class BackupMember(Evidence):
    """One file inside a backup."""

    name: str
    kind: str = Field(description="sqlite, postgres, keys or payments.")
    size: int
    digest: str = Field(description="SHA-256 of the file, as sha256-<base64>.")


class BackupCheckpoint(Evidence):
    """The signed ledger checkpoint taken just before the snapshot."""

    seq: int
    size: int = Field(description="Entries in the ledger at the checkpoint.")
    root: str = Field(description="The tree's root hash, as sha256-<base64>.")


class BackupCreateEvidence(Evidence):
    """What a backup holds and how to check it: members, digests, key reference, ledger checkpoint."""

    backup_id: str
    location: str
    snapshot_started_at: str
    members: list[BackupMember]
    plaintext_digest: str
    ciphertext_digest: str
    ciphertext_size: int
    chunks: int
    key_ref: str = Field(description="Where the key comes from (an environment variable or file name), never the key.")
    checkpoint: BackupCheckpoint | None


BACKUP_CREATE = KINDS.declare(
    EntryKind(
        name="backup.create",
        version=1,
        meaning="An encrypted backup of the ledger, the keys and the payments database was written.",
        evidence=BackupCreateEvidence,
        actors=("*",),
        actions=("create",),
        subjects=("backup:*",),
        outcomes=("ok",),
    )
)


class BackupPruneEvidence(Evidence):
    """Which backups the retention policy deleted and kept (written before deleting)."""

    pruned: list[str]
    kept: list[str]
    keep_last: int | None
    max_age_days: float | None


BACKUP_PRUNE = KINDS.declare(
    EntryKind(
        name="backup.prune",
        version=1,
        meaning="Backups outside the retention policy were deleted.",
        evidence=BackupPruneEvidence,
        actors=("*",),
        actions=("prune",),
        subjects=("backups:*",),
        outcomes=("ok",),
    )
)


class BackupError(Evidence):
    """The error that stopped a scheduled backup."""

    type: str = Field(description="The exception's class name.")
    message: str | None = None
    fix: str | None = None


class BackupFailedEvidence(Evidence):
    """Why a scheduled backup failed, and how often the schedule runs."""

    error: BackupError
    interval_s: float


BACKUP_FAILED = KINDS.declare(
    EntryKind(
        name="backup.failed",
        version=1,
        meaning="A scheduled backup failed; a person is paged.",
        evidence=BackupFailedEvidence,
        actors=("*",),
        actions=("scheduled-backup",),
        subjects=("backups:*",),
        outcomes=("failed",),
    )
)


class DrillCheckResult(Evidence):
    """One invariant a restore drill checked."""

    name: str
    ok: bool
    detail: str


class BackupRestoreDrillEvidence(Evidence):
    """What a restore drill proved: recovery point and time, the ledger restored, each check; or the error."""

    backup_id: str
    rpo_s: float | None = Field(default=None, description="Recovery point: the backup's age when drilled.")
    rto_s: float | None = Field(default=None, description="Recovery time: how long the restore took.")
    ledger_entries: int | None = None
    checks: list[DrillCheckResult] | None = None
    error: str | None = None


BACKUP_RESTORE_DRILL = KINDS.declare(
    EntryKind(
        name="backup.restore_drill",
        version=1,
        meaning="A backup was restored into scratch space and checked (decryption, ledger proofs, databases).",
        evidence=BackupRestoreDrillEvidence,
        actors=("*",),
        actions=("restore_drill",),
        subjects=("backup:*",),
        outcomes=("ok", "failed"),
    )
)
