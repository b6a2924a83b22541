"""``finpilot backup``: create, list, prune and restore-drill encrypted backups; every action is audited."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from finpilot.cli._context import cli_actor, ledger_for, settings_for
from finpilot.cli._errors import EXIT_FAILED
from finpilot.cli._output import JsonFlag, busy, out, print_json, table
from finpilot.core import CheckFailedError
from finpilot.heal import create_backup, list_backups, prune_backups, restore_drill, write_backup_key

backup_app = typer.Typer(
    help="Encrypted backups (AES-256-GCM) of the audit ledger and databases, retention, and restore drills.",
    no_args_is_help=True,
)
"""The ``backup`` command group."""


@backup_app.command("create")
def create(
    ctx: typer.Context,
    payments_db: Annotated[
        Path | None,
        typer.Option(dir_okay=False, help="Also back up this payments.db (default: backup.payments_db)."),
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Take an encrypted backup now (key from backup.key: {env: NAME} or {file: PATH})."""
    settings = settings_for(ctx)
    with busy("backing up"), ledger_for(ctx) as ledger:
        manifest = create_backup(settings, ledger, actor=cli_actor(), payments_db=payments_db)
    if as_json:
        print_json(manifest.to_json())
        return
    cp = manifest.checkpoint
    out().print(
        f"backup [bold]{manifest.id}[/]: {len(manifest.members)} files, "
        f"{manifest.ciphertext['size']} bytes in {manifest.ciphertext['chunks']} chunks; "
        + (f"ledger checkpoint {cp['seq']} at size {cp['size']}" if cp else "no ledger checkpoint yet")
    )


@backup_app.command("list")
def list_(ctx: typer.Context, as_json: JsonFlag = False) -> None:
    """List backups, newest first."""
    backups = list_backups(settings_for(ctx))
    if as_json:
        print_json({"backups": [b.to_json() for b in backups]})
        return
    grid = table("id", "created", "bytes", "files", "checkpoint size", "problem", title="Backups", no_wrap=("id",))
    for b in backups:
        row = b.to_json()
        grid.add_row(
            b.id,
            str(row["created_at"] or ""),
            str(row["size"] or ""),
            str(len(row["members"])),
            str(row["checkpoint_size"] if row["checkpoint_size"] is not None else ""),
            escape(b.problem or ""),
        )
    out().print(grid)


@backup_app.command("prune")
def prune(
    ctx: typer.Context,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Show what would be deleted; delete nothing.")] = False,
    as_json: JsonFlag = False,
) -> None:
    """Delete backups outside the retention policy (backup.keep_last, backup.max_age_s)."""
    settings = settings_for(ctx)
    with ledger_for(ctx) as ledger:
        report = prune_backups(settings, ledger, actor=cli_actor(), dry_run=dry_run)
    if as_json:
        print_json({**report.to_json(), "dry_run": dry_run})
        return
    verb = "would prune" if dry_run else "pruned"
    out().print(f"kept {len(report.kept)}, {verb} {len(report.pruned)}: {', '.join(report.pruned) or 'none'}")
    for name, problem in report.problems.items():
        out().print(f"skipped {escape(name)} (never deleted): {escape(problem)}")


@backup_app.command("restore-drill")
def drill(
    ctx: typer.Context,
    backup_id: Annotated[str | None, typer.Argument(help="Backup to drill (default: the newest).")] = None,
    scratch: Annotated[
        Path | None, typer.Option(file_okay=False, help="Directory for the scratch restore (default: system temp).")
    ] = None,
    keep: Annotated[bool, typer.Option("--keep", help="Keep the restored files for inspection.")] = False,
    as_json: JsonFlag = False,
) -> None:
    """Restore a backup into a scratch location and check its invariants; report RPO and RTO. Exit 1 on failure."""
    settings = settings_for(ctx)
    with busy("restore drill"), ledger_for(ctx) as ledger:
        report = restore_drill(settings, ledger, backup_id, actor=cli_actor(), scratch=scratch, keep=keep)
    if as_json:
        print_json(report.to_json())
    else:
        grid = table("check", "ok", "detail", title=f"Restore drill of {report.backup_id}")
        for check in report.checks:
            grid.add_row(check.name, "[green]ok[/]" if check.ok else "[red]FAILED[/]", escape(check.detail))
        console = out()
        console.print(grid)
        console.print(f"RPO {report.rpo_s:.3f} s (since the snapshot began)  RTO {report.rto_s:.3f} s (restore+verify)")
    if not report.ok:
        if as_json:
            raise typer.Exit(EXIT_FAILED)  # the report on stdout already says which checks failed
        failed = [c.name for c in report.checks if not c.ok]
        raise CheckFailedError(f"restore drill of {report.backup_id} failed: {', '.join(failed)}")


@backup_app.command("keygen")
def keygen(
    path: Annotated[
        Path, typer.Argument(dir_okay=False, help="Where to write the new key (mode 0600; never overwritten).")
    ],
    as_json: JsonFlag = False,
) -> None:
    """Write a fresh random 256-bit backup key to a file for backup.key: {file: PATH}."""
    write_backup_key(path)
    if as_json:
        print_json({"path": str(path)})  # never the key itself
        return
    shown = escape(str(path))
    out().print(f"wrote a new backup key to {shown} (mode 600); set backup.key: {{file: {shown}}} in finpilot.yaml")
