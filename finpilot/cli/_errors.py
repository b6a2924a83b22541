"""The one place where the CLI turns errors into messages and exit codes.

Exit codes, so that a pipeline can gate on them::

    0  ok
    1  a check ran and failed (CheckFailedError, a verify that found problems), or the
       stored state or its backend failed (IntegrityError, StorageError)
    2  bad usage or input (InputError and ConfigError, NotFoundError, AuthError, usage errors)

Every :class:`~finpilot.core.FinpilotError` becomes ``error: <message>`` (and ``fix: <fix>``)
on stderr, never a traceback; with ``--json`` its ``to_dict()`` also goes to stdout so that a
script reading stdout sees a structured reason.
"""

from __future__ import annotations

import json
from typing import Any

import typer
from rich.console import Console
from rich.markup import escape
from typer.core import TyperGroup

from finpilot.core import AuthError, CheckFailedError, FinpilotError, InputError, NotFoundError

EXIT_OK = 0
"""Success."""
EXIT_FAILED = 1
"""A check failed, or the stored state or its backend did."""
EXIT_USAGE = 2
"""Bad usage or input; nothing was changed."""

_JSON_KEY = "finpilot.cli.json"


def exit_code_for(err: FinpilotError) -> int:
    """The exit code a finpilot error maps to (see the module docstring)."""
    if isinstance(err, InputError | NotFoundError | AuthError):
        return EXIT_USAGE
    if isinstance(err, CheckFailedError):
        return EXIT_FAILED
    # IntegrityError, StorageError and anything newer: the run failed, but not because of how
    # the command was typed, so 1 rather than 2; the message says which.
    return EXIT_FAILED


def report_error(err: FinpilotError, *, as_json: bool) -> None:
    """Show an error as an ``error:`` line (and ``fix:``) on stderr; with ``--json`` as JSON on stdout too."""
    console = Console(stderr=True, soft_wrap=True, highlight=False)
    # soft_wrap: the message stays one line however narrow the terminal, so it greps cleanly.
    console.print(f"[bold red]error:[/] {escape(err.message)}")
    if err.fix:
        console.print(f"[bold]fix:[/] {escape(err.fix)}")
    if as_json:
        typer.echo(json.dumps(err.to_dict(), indent=2))


def remember_json(ctx: typer.Context, value: bool) -> bool:
    """Option callback for ``--json``: note the choice where the error handler can see it.

    ``ctx.meta`` is shared by every context of one invocation, so the root group learns that
    a subcommand was asked for JSON without each command having to say so.
    """
    if value:
        ctx.meta[_JSON_KEY] = True
    return value


class FinpilotGroup(TyperGroup):
    """The root command group: maps every finpilot error raised by any subcommand to its exit code."""

    def invoke(self, ctx: Any) -> Any:
        """Run the subcommand; turn a :class:`FinpilotError` into a message and an exit code."""
        # ``ctx`` is typer's vendored click Context; its class is private, hence ``Any``.
        try:
            return super().invoke(ctx)
        except FinpilotError as err:
            report_error(err, as_json=bool(ctx.meta.get(_JSON_KEY)))
            raise typer.Exit(exit_code_for(err)) from None
