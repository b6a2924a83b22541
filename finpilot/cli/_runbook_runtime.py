"""What ``finpilot runtime up`` runs beside the controller: the runbook engine and scheduled backups."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import typer
from rich.markup import escape

from finpilot.audit import Ledger
from finpilot.cli._context import cli_state
from finpilot.cli._output import err
from finpilot.core import ConfigError, Settings
from finpilot.heal import (
    Controller,
    Pager,
    PgCluster,
    Runbook,
    RunbookEngine,
    backup_schedule_wanted,
    load_runbooks,
    pg_cluster_for,
    scheduled_backups,
    state_dir_for,
)


def config_base(ctx: typer.Context) -> Path | None:
    """The directory relative paths in the config are read from (the config file's), if there is a file."""
    path = cli_state(ctx).config_file()
    return path.resolve().parent if path is not None else None


def runbook_dir(ctx: typer.Context, settings: Settings) -> Path | None:
    """``runbooks.dir`` resolved against the config file's directory; None when not set."""
    directory = settings.runbooks.dir
    base = config_base(ctx)
    if directory is None or directory.is_absolute() or base is None:
        return directory
    return base / directory


@dataclass(frozen=True)
class RunbookPlan:
    """Runbooks, pager and backup schedule, validated before anything starts."""

    settings: Settings
    runbooks: list[Runbook]
    pager: Pager
    run_env: dict[str, str]
    backups: bool


def runbook_plan(ctx: typer.Context, settings: Settings) -> RunbookPlan:
    """Read and check everything ``runtime up`` will run beside the controller; raise ConfigError if anything is off."""
    directory = runbook_dir(ctx, settings)
    books = load_runbooks(directory) if directory is not None else []
    pager = Pager.from_settings(settings.runbooks)
    backups = backup_schedule_wanted(settings)
    if backups and settings.backup.key is None:
        raise ConfigError(
            "backup.interval_s is set but no backup key is configured",
            field="backup.key",
            fix="set backup.key: {file: PATH} or backup.key: {env: NAME} (see `finpilot backup --help`)",
        )
    config = cli_state(ctx).config_file()
    run_env = {"FINPILOT_DATA_DIR": str(settings.data_dir.resolve())}
    if config is not None:
        run_env["FINPILOT_CONFIG"] = str(config.resolve())
    return RunbookPlan(settings, books, pager, run_env, backups)


@contextmanager
def runbooks_running(plan: RunbookPlan, ledger: Ledger, controller: Controller) -> Iterator[RunbookEngine]:
    """Run the runbook engine on ``controller``'s entries, and scheduled backups when the config asks."""
    settings = plan.settings
    engine = RunbookEngine(
        plan.runbooks,
        ledger,
        pager=plan.pager,
        queue_size=settings.runbooks.queue_size,
        run_env=plan.run_env,
        log_dir=state_dir_for(settings.data_dir) / "logs",
    )
    scheduler = scheduled_backups(settings, ledger, engine) if plan.backups else None
    engine.attach(controller)
    database = _database_pair(settings)
    if database is not None:
        engine.attach_database(database)
    engine.start()
    if scheduler is not None:
        scheduler.start()
    names = ", ".join(book.name for book in engine.runbooks) or "none"
    err().print(
        f"runbooks: {escape(names)}"
        + (f"; backups every {settings.backup.interval_s:g} s" if scheduler is not None else "")
        + (f"; failover on the pair in {escape(str(database.base_dir))}" if database is not None else "")
    )
    try:
        yield engine
    finally:
        if scheduler is not None:
            scheduler.stop(timeout=60)
        engine.stop()


def _database_pair(settings: Settings) -> PgCluster | None:
    """The local db.ha pair a runbook may fail over, once `finpilot db init --ha` has created it."""
    ha = settings.db.ha
    if ha.mode != "local":
        return None  # Patroni fails its own cluster over; a runbook has no pair of ours to promote
    base = ha.base_dir or Path(settings.data_dir) / "pg"
    if not (base / "cluster.json").is_file():
        return None  # without it the failover step fails and escalates, naming db.ha
    return pg_cluster_for(settings)
