"""``finpilot pipeline``: run the declared delivery pipeline, list its runs, show one (and a step's log)."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import typer
from rich.live import Live
from rich.markup import escape
from rich.table import Table

from finpilot.cli._context import cli_actor, cli_state, ledger_for, settings_for
from finpilot.cli._errors import EXIT_FAILED
from finpilot.cli._output import JsonFlag, out, print_json, table
from finpilot.core import CheckFailedError
from finpilot.deliver import (
    RunRecord,
    check_release,
    find_pipeline_file,
    list_runs,
    load_pipeline,
    load_run,
    read_log,
    run_entry,
    run_pipeline,
)

pipeline_app = typer.Typer(
    help="Declarative delivery pipelines: steps in a DAG with a content-hash cache; every run is audited.",
    no_args_is_help=True,
)
"""The ``pipeline`` command group."""

_COLOURS = {
    "pending": "dim",
    "running": "cyan",
    "passed": "green",
    "cached": "green",
    "failed": "bold red",
    "skipped": "yellow",
}
_WHOLE_LOG = 1 << 30


def _duration(seconds: float | None) -> str:
    return "" if seconds is None else f"{seconds:.2f} s"


def _steps_table(record: RunRecord) -> Table:
    grid = table("step", "type", "status", "duration", "exit", "note", title=f"pipeline {record.pipeline} {record.id}")
    for step in record.steps:
        colour = _COLOURS[step.status]
        note = step.reason or (f"from run {step.cached_from}" if step.cached_from else "")
        grid.add_row(
            step.name,
            step.type,
            f"[{colour}]{step.status}[/]",
            _duration(step.duration_s),
            "" if step.exit_code is None else str(step.exit_code),
            escape(note),
        )
    return grid


class _PlainProgress:
    """One line per change of a step's state, for logs and pipes (no cursor movement)."""

    def __init__(self) -> None:
        self.seen: dict[str, str] = {}

    def __call__(self, record: RunRecord) -> None:
        for step in record.steps:
            if self.seen.get(step.name) != step.status and step.status != "pending":
                self.seen[step.name] = step.status
                extra = f" ({_duration(step.duration_s)})" if step.duration_s is not None else ""
                reason = f": {step.reason}" if step.reason else ""
                typer.echo(f"{step.status:>8}  {step.name}{extra}{reason}")


@pipeline_app.command("run")
def run(
    ctx: typer.Context,
    file: Annotated[
        Path | None,
        typer.Option(
            "--file",
            dir_okay=False,
            help="Pipeline file (default: finpilot.yaml's 'pipeline:', else .finpilot/pipeline.yaml).",
        ),
    ] = None,
    release: Annotated[str | None, typer.Option("--release", help="Release id the run is for (audit subject).")] = None,
    only: Annotated[str | None, typer.Option("--only", help="Run this step and the steps it needs.")] = None,
    no_cache: Annotated[
        bool, typer.Option("--no-cache", help="Run every step, even when its inputs are unchanged.")
    ] = False,
    as_json: JsonFlag = False,
) -> None:
    """Run the pipeline; exit 1 when a step fails (its dependants are skipped), 2 on a bad pipeline file."""
    check_release(release)
    pipeline = load_pipeline(file if file is not None else find_pipeline_file(Path.cwd()))
    settings = settings_for(ctx)
    env = dict(os.environ)
    config = cli_state(ctx).config
    if config is not None:
        env["FINPILOT_CONFIG"] = str(config.resolve())

    def go(on_change: Callable[[RunRecord], None] | None) -> RunRecord:
        return run_pipeline(
            pipeline,
            data_dir=settings.data_dir.resolve(),
            release=release,
            only=only,
            use_cache=not no_cache,
            env=env,
            on_change=on_change,
        )

    if as_json:
        record = go(None)  # --json prints the run record only
    elif sys.stdout.isatty():
        with Live(console=out(), refresh_per_second=8) as live:
            record = go(lambda r: live.update(_steps_table(r)))
    else:
        record = go(_PlainProgress())
    with ledger_for(ctx) as ledger:
        ledger.append(run_entry(record, data_dir=settings.data_dir.resolve(), actor=cli_actor()))
    if as_json:
        print_json(record.model_dump(mode="json"))
        if record.status != "passed":
            raise typer.Exit(EXIT_FAILED)
        return
    out().print(f"run [bold]{record.id}[/] {record.status} in {_duration(record.duration_s)}")
    if record.status != "passed":
        failed = [s for s in record.steps if s.status == "failed"]
        what = ", ".join(f"{s.name} ({s.reason})" for s in failed)
        raise CheckFailedError(
            f"pipeline {record.pipeline} failed: {what}", fix=f"see `finpilot pipeline show {record.id} --log STEP`"
        )


@pipeline_app.command("list")
def list_(
    ctx: typer.Context,
    limit: Annotated[int, typer.Option(min=1, max=1000, help="At most this many runs, newest first.")] = 50,
    as_json: JsonFlag = False,
) -> None:
    """List pipeline runs, newest first."""
    runs = list_runs(settings_for(ctx).data_dir, limit=limit)
    if as_json:
        print_json({"runs": [_summary(r) for r in runs]})
        return
    grid = table("run", "pipeline", "release", "status", "started", "duration", "steps", title="Pipeline runs")
    for r in runs:
        counts = _counts(r)
        grid.add_row(
            r.id,
            r.pipeline,
            r.release or "",
            f"[{_COLOURS.get(r.status, 'cyan')}]{r.status}[/]",
            r.started_at,
            _duration(r.duration_s),
            ", ".join(f"{n} {k}" for k, n in counts.items()),
        )
    out().print(grid)


def _counts(record: RunRecord) -> dict[str, int]:
    counts: dict[str, int] = {}
    for step in record.steps:
        counts[step.status] = counts.get(step.status, 0) + 1
    return counts


def _summary(record: RunRecord) -> dict[str, object]:
    return {
        "id": record.id,
        "pipeline": record.pipeline,
        "release": record.release,
        "status": record.status,
        "started_at": record.started_at,
        "duration_s": record.duration_s,
        "counts": _counts(record),
    }


@pipeline_app.command("show")
def show(
    ctx: typer.Context,
    run_id: Annotated[str, typer.Argument(metavar="RUN", help="A run id from `finpilot pipeline list`.")],
    log: Annotated[str | None, typer.Option("--log", metavar="STEP", help="Print this step's log instead.")] = None,
    as_json: JsonFlag = False,
) -> None:
    """Show one run: each step's status, duration, exit code, artifacts and JUnit counts (or one step's log).

    With ``--json`` the one object is the run record plus ``log``: null, or with ``--log STEP``
    ``{step, size, truncated, text}``.
    """
    data_dir = settings_for(ctx).data_dir
    record = load_run(data_dir, run_id)
    if log is not None:
        text, size, cut = read_log(data_dir, run_id, log, tail_bytes=_WHOLE_LOG)
        if as_json:
            print_json(
                {**record.model_dump(mode="json"), "log": {"step": log, "size": size, "truncated": cut, "text": text}}
            )
        else:
            typer.echo(text, nl=False)
        return
    if as_json:
        print_json({**record.model_dump(mode="json"), "log": None})
        return
    console = out()
    console.print(_steps_table(record))
    for step in record.steps:
        for artifact in step.artifacts:
            console.print(f"  {step.name}: {artifact.name} {escape(artifact.path)} {artifact.digest}")
        if step.junit:
            j = step.junit
            console.print(
                f"  {step.name}: JUnit {j['tests']} tests, {j['failures']} failures, {j['errors']} errors, "
                f"{j['skipped']} skipped"
            )
            for failure in j["failed"]:
                console.print(f"    [red]{failure['kind']}[/] {escape(failure['suite'])}::{escape(failure['name'])}")
    console.print(f"run {record.id}: {record.status} in {_duration(record.duration_s)}")
