"""``finpilot audit kinds``: the declared entry kinds, with their JSON Schemas."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.text import Text

from finpilot.audit import KINDS, kinds_markdown
from finpilot.cli._output import JsonFlag, out, print_json, table


def kinds(
    as_json: JsonFlag = False,
    markdown: Annotated[
        bool, typer.Option("--markdown", help="Print the reference document (docs/audit-kinds.md).")
    ] = False,
) -> None:
    """List every declared audit entry kind: version, meaning, vocabulary and evidence schema."""
    if as_json:
        print_json(
            {
                "kinds": [kind.describe() for kind in KINDS],
                "system_namespaces": list(KINDS.system_namespaces),
                "system_actors": list(KINDS.system_actors),
            }
        )
        return
    if markdown:
        typer.echo(kinds_markdown(KINDS), nl=False)
        return
    grid = table("kind", "version", "reserved", "meaning", title="audit entry kinds", no_wrap=("kind",))
    for kind in KINDS:
        grid.add_row(Text(kind.name), str(kind.version), "yes" if kind.reserved else "no", Text(kind.meaning))
    out().print(grid)
    # Said after the table: the namespaces are reserved whether or not a kind is declared there.
    namespaces = ", ".join(f"{name}.*" for name in KINDS.system_namespaces)
    out().print(Text(f"reserved for finpilot's own writers, declared or not: {namespaces}"))
    out().print(Text(f"never accepted as the actor of an appended entry: {', '.join(KINDS.system_actors)}"))
