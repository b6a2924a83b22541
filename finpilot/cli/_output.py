"""Output helpers shared by every command: JSON on stdout, Rich for people, progress on stderr."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from finpilot.cli._errors import remember_json

JsonFlag = Annotated[
    bool,
    typer.Option("--json", help="Print machine-readable JSON on stdout.", callback=remember_json),
]
"""The ``--json`` option every data-printing command takes; errors honour it too."""


def out() -> Console:
    """A Rich console on stdout, for people.

    Piped output (a file, ``less``, CI logs) has no terminal width; Rich would then assume 80
    columns and fold every table cell. Use 160 there, and the real width on a terminal.
    """
    console = Console(highlight=False)
    if not console.is_terminal:
        console = Console(highlight=False, width=160)
    return console


def err() -> Console:
    """A Rich console on stderr, for notes and warnings that must not mix with data."""
    return Console(stderr=True, highlight=False, soft_wrap=True)


def table(*columns: str, title: str, no_wrap: tuple[str, ...] = ()) -> Table:
    """A Rich table whose cells wrap rather than truncate (a clipped hash is worse than none),
    except the ``no_wrap`` columns, which Rich then sizes to fit."""
    grid = Table(title=title)
    for column in columns:
        grid.add_column(column, overflow="fold", no_wrap=column in no_wrap)
    return grid


def print_json(data: Any) -> None:
    """Print one JSON document on stdout.

    Plain ``echo`` rather than Rich: Rich would wrap long lines and colour tokens, and the
    output must parse byte for byte.
    """
    typer.echo(json.dumps(data, indent=2, ensure_ascii=False))


@contextmanager
def busy(message: str) -> Iterator[None]:
    """Show a spinner on stderr while long work runs, only when a person is watching it."""
    if not sys.stderr.isatty():
        # A pipe or a log file would fill up with spinner frames; show nothing.
        yield
        return
    with err().status(message):
        yield
