"""``finpilot audit verify``, ``export`` and ``verify-export``: the long-running checks.

They are registered on the ``audit`` group by :mod:`finpilot.cli._audit_cmd`; they live apart
because they share the report rendering and the progress display, and nothing else does.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.text import Text

from finpilot.audit import KINDS, VerifyReport, verify_bundle
from finpilot.cli._context import ledger_for
from finpilot.cli._errors import EXIT_FAILED
from finpilot.cli._output import JsonFlag, busy, out, print_json, table
from finpilot.core import CheckFailedError, InputError


def show_report(report: VerifyReport, *, as_json: bool) -> None:
    """Print a verification report, and exit 1 when it found problems."""
    if as_json:
        print_json(report.to_json())
    else:
        console = out()
        if report.ok:
            console.print(f"verified {report.entries} entries, {report.checkpoints} checkpoints")
        else:
            problems = sorted(report.problems, key=lambda p: p.index)
            first = escape(problems[0].detail)
            console.print(
                f"[bold red]FAILED:[/] first bad index {report.first_bad_index}: {first}",
                soft_wrap=True,
            )
            for problem in problems:
                where = f" (checkpoint {problem.checkpoint})" if problem.checkpoint is not None else ""
                console.print(
                    f"  - {problem.where} at index {problem.index}{where}: {escape(problem.detail)}",
                    soft_wrap=True,
                )
        if report.kinds:
            grid = table("kind", "entries", "conform", "not by finpilot", title="entries per kind")
            for name, (count, fit, foreign) in sorted(report.kinds.items()):
                # custom.* and retired kinds have no declaration to conform to; only finpilot's own
                # namespaces can hold an entry it did not write but might have read back.
                system = name.partition(".")[0] in KINDS.system_namespaces
                conform = str(fit) if name in KINDS else "not declared"
                grid.add_row(Text(name), str(count), conform, str(foreign) if system else "-")
            console.print(grid)
        for note in report.notes:
            console.print(f"note: {escape(note)}", soft_wrap=True)
    if not report.ok:
        # Not an exception: the report is the message, and with --json a second JSON document
        # (the error's) would break the one a script is parsing.
        raise typer.Exit(EXIT_FAILED)


def verify(
    ctx: typer.Context,
    trusted_checkpoint: Annotated[
        Path | None,
        typer.Option(
            "--trusted-checkpoint",
            exists=True,
            dir_okay=False,
            readable=True,
            help=(
                "A signed checkpoint note kept from earlier (e.g. by a witness). Detects the newest "
                "entries and checkpoints being cut off together, which nothing else can."
            ),
        ),
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Recompute every hash and check every signature of the ledger; exit 1 if anything is wrong."""
    note = trusted_checkpoint.read_text(encoding="utf-8") if trusted_checkpoint is not None else None
    with ledger_for(ctx) as ledger, busy(f"verifying {ledger.size} entries"):
        report = ledger.verify(trusted_checkpoint=note)
    show_report(report, as_json=as_json)


def export(
    ctx: typer.Context,
    directory: Annotated[
        Path, typer.Argument(help="New or empty directory to write the bundle into.", file_okay=False)
    ],
    as_json: JsonFlag = False,
) -> None:
    """Write an offline-verifiable bundle of the ledger (no personal data) into DIRECTORY."""
    with ledger_for(ctx) as ledger, busy(f"exporting {ledger.size} entries"):
        manifest = ledger.export(directory)
    if as_json:
        print_json(manifest)
        return
    out().print(
        f"exported {manifest['tree_size']} entries and {manifest['checkpoints']} checkpoints to "
        f"{escape(str(directory))}\nroot: {manifest['root_hash']}\n"
        f"check it anywhere with: finpilot audit verify-export {escape(str(directory))} --public-key KEY",
        soft_wrap=True,
    )


def verify_export(
    directory: Annotated[Path, typer.Argument(help="Directory written by `finpilot audit export`.")],
    public_key: Annotated[
        str | None,
        typer.Option(
            "--public-key",
            help=(
                "Verifier key you trust (text or a file holding it; see `finpilot audit public-key`). "
                "Without it the bundle's own log.pub is used, which proves integrity but not authorship."
            ),
        ),
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Verify an exported bundle offline: no config, no data directory, no database."""
    # Deliberately no ctx and no settings: an auditor runs this on a machine that has never
    # seen finpilot's data, and it must not create or read a data directory there.
    if not directory.is_dir():
        raise InputError(f"{directory} is not a directory", field="directory", fix="pass the export directory")
    try:
        with busy(f"verifying bundle {directory}"):
            report = verify_bundle(directory, public_key)
    except (OSError, ValueError, KeyError) as exc:
        # A file missing from the bundle or a garbled checkpoints line: the bundle fails its
        # check; that is a finding for the auditor, not a crash.
        raise CheckFailedError(
            f"bundle {directory} is damaged: {exc}", fix="export the bundle again from the ledger"
        ) from None
    show_report(report, as_json=as_json)
