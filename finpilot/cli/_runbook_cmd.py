"""``finpilot runbook check|list`` and ``finpilot chaos disk-full``: runbooks as code, and the disk fault."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape

from finpilot.cli._context import cli_actor, settings_for
from finpilot.cli._output import JsonFlag, out, print_json, table
from finpilot.cli._runbook_runtime import runbook_dir
from finpilot.cli._runtime_cmd import chaos_app
from finpilot.heal import Runbook, RuntimeClient, load_runbooks, state_dir_for

runbook_app = typer.Typer(
    help="Runbooks as code: YAML triggers and rate-limited actions the runtime runs on audit events.",
    no_args_is_help=True,
)
"""The ``runbook`` command group."""


def _summary(book: Runbook) -> dict[str, Any]:
    t = book.trigger
    rl = book.rate_limit
    return {
        "name": book.name,
        "file": book.source,
        "trigger": {
            "kind": t.kind,
            "action": t.action,
            "outcome": t.outcome,
            "subject": t.subject,
            "when": [c.model_dump(mode="json") for c in t.when],
        },
        "actions": [{step.name: step.params()} for step in book.actions],
        "rate_limit": rl.model_dump(mode="json"),
        "escalate": book.escalate.model_dump(mode="json"),
    }


def _show(books: list[Runbook], directory: Path | None, as_json: bool, title: str) -> None:
    if as_json:
        print_json({"dir": None if directory is None else str(directory), "runbooks": [_summary(b) for b in books]})
        return
    grid = table("runbook", "trigger", "actions", "rate limit", title=title, no_wrap=("runbook",))
    for book in books:
        t = book.trigger
        trigger = " ".join(
            [t.kind, *(f"{k}={v}" for k, v in (("action", t.action), ("outcome", t.outcome)) if v)]
            + [f"{c.field} {c.op} {c.value!r}" for c in t.when]
        )
        rl = book.rate_limit
        grid.add_row(
            escape(book.name),
            escape(trigger),
            escape(", ".join(step.name for step in book.actions)),
            f"{rl.max_actions}/{rl.window_s:g}s, cooldown {rl.cooldown_s:g}s",
        )
    out().print(grid)


@runbook_app.command("check")
def check(
    directory: Annotated[Path, typer.Argument(file_okay=False, help="Directory of runbook files (*.yaml, *.yml).")],
    as_json: JsonFlag = False,
) -> None:
    """Check every runbook in DIRECTORY; the first invalid one is reported with file, line, field and fix (exit 2)."""
    books = load_runbooks(directory)
    _show(books, directory, as_json, title=f"{len(books)} valid runbooks in {directory}")


@runbook_app.command("list")
def list_(ctx: typer.Context, as_json: JsonFlag = False) -> None:
    """The runbooks in runbooks.dir of the config (what `finpilot runtime up` runs)."""
    directory = runbook_dir(ctx, settings_for(ctx))
    if directory is None:
        if as_json:
            _show([], None, as_json, title="")
        else:
            out().print("no runbooks: set runbooks.dir in finpilot.yaml")
        return
    _show(load_runbooks(directory), directory, as_json, title=f"Runbooks in {directory}")


@chaos_app.command("disk-full")
def chaos_disk_full(
    ctx: typer.Context,
    node: Annotated[str, typer.Argument(help="Node whose disk fills up (simulated).")],
    clear: Annotated[bool, typer.Option("--clear", help="End the simulated disk pressure.")] = False,
    as_json: JsonFlag = False,
) -> None:
    """Simulate a full disk on NODE: DiskPressure, nothing new is placed there, runbooks react."""
    client = RuntimeClient(state_dir_for(settings_for(ctx).data_dir))
    result = client.chaos("disk-full", node, clear=clear, actor=cli_actor())
    if as_json:
        print_json(result)
    elif not result.get("changed"):
        out().print(f"{escape(node)}: disk pressure already {'on' if result['disk_pressure'] else 'off'}")
    else:
        out().print(f"{escape(node)}: disk pressure {'on (DiskPressure)' if result['disk_pressure'] else 'cleared'}")
