"""Scheduled backups for a running runtime: create, then prune, every ``backup.interval_s``.

A failed run is an audit entry (``backup.failed``) and an escalation through the runbook
engine's pager, so a backup that silently stopped working is a page, not a surprise at
restore time. The entry is offered to the engine too, so a runbook can react to it.
"""

from __future__ import annotations

from finpilot.audit import Ledger
from finpilot.audit.kinds import BACKUP_FAILED
from finpilot.core import FinpilotError, Settings
from finpilot.heal._backup._store import BackupScheduler, backup_dir, create_backup, prune_backups
from finpilot.heal._runbook._engine import RunbookEngine

ACTOR = "scheduler:backup"


def backup_schedule_wanted(settings: Settings) -> bool:
    """Whether the config asks for scheduled backups (``backup.interval_s`` written in it)."""
    return "interval_s" in settings.backup.model_fields_set


def scheduled_backups(
    settings: Settings, ledger: Ledger, engine: RunbookEngine, *, run_at_start: bool = False
) -> BackupScheduler:
    """A (not yet started) scheduler that backs up and prunes every ``backup.interval_s`` seconds."""

    def job() -> None:
        create_backup(settings, ledger, actor=ACTOR)
        prune_backups(settings, ledger, actor=ACTOR)

    def on_error(exc: BaseException) -> None:
        error = {"type": type(exc).__name__}
        if isinstance(exc, FinpilotError):
            error.update(message=exc.message, fix=exc.fix or "")
        evidence = {"error": error, "interval_s": settings.backup.interval_s}
        entry = BACKUP_FAILED.entry(
            actor=ACTOR,
            action="scheduled-backup",
            subject=f"backups:{backup_dir(settings)}",
            outcome="failed",
            evidence=evidence,
        )
        try:
            ledger.append(entry)
        finally:
            engine.offer(entry)
            engine.escalate(
                "backup", f"scheduled backup failed: {error.get('message') or error['type']}", evidence=evidence
            )

    return BackupScheduler(job, settings.backup.interval_s, on_error=on_error, run_at_start=run_at_start)
