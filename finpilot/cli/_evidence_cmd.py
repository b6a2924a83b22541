"""``finpilot evidence pack`` and ``verify``: a release's evidence bundle for an auditor, and its offline check."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from finpilot.cli._context import cli_actor, ledger_for
from finpilot.cli._errors import EXIT_FAILED
from finpilot.cli._output import JsonFlag, busy, out, print_json
from finpilot.core import CheckFailedError
from finpilot.deliver import pack_evidence, verify_evidence

evidence_app = typer.Typer(
    help="Evidence bundles of a release: ledger entries with inclusion proofs, the files they name, a manifest.",
    no_args_is_help=True,
)
"""The ``evidence`` command group."""


@evidence_app.command("pack")
def pack(
    ctx: typer.Context,
    release: Annotated[str, typer.Argument(help="The release id (entries with subject release:ID).")],
    out_dir: Annotated[Path, typer.Option("--out", file_okay=False, help="New or empty directory to write.")],
    as_json: JsonFlag = False,
) -> None:
    """Bundle every ledger entry about a release, the files they name, proofs and a sealed manifest. Exit 1 if a
    named file is gone or changed (the bundle is still written, marked incomplete)."""
    with busy(f"packing evidence of {release}"), ledger_for(ctx) as ledger:
        result = pack_evidence(ledger, release, out_dir, actor=cli_actor())
    if as_json:
        print_json(result.to_json())
        if not result.complete:
            raise typer.Exit(EXIT_FAILED)
        return
    out().print(
        f"packed {result.entries} entries and {result.files} files of {escape(release)} into "
        f"{escape(str(out_dir))} (sealed by entry {result.seal_index})\n"
        f"check it anywhere with: finpilot evidence verify {escape(str(out_dir))} --public-key KEY",
        soft_wrap=True,
    )
    if not result.complete:
        raise CheckFailedError(
            f"the bundle is incomplete: {'; '.join(result.missing)}",
            fix="keep the files deliver commands write until the release's evidence is packed",
        )


@evidence_app.command("verify")
def verify(
    bundle: Annotated[Path, typer.Argument(help="Directory written by `finpilot evidence pack`.")],
    public_key: Annotated[
        str | None,
        typer.Option(
            "--public-key",
            help=(
                "The ledger's verifier key you trust (text or a file; `finpilot audit public-key`). Without it the "
                "bundle's own log.pub is used, which proves integrity but not authorship."
            ),
        ),
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Verify an evidence bundle offline (no config, no data directory); exit 1 naming each bad file."""
    with busy(f"verifying {bundle}"):
        report = verify_evidence(bundle, public_key)
    if as_json:
        print_json(report.to_json())
        if not report.ok:
            raise typer.Exit(EXIT_FAILED)
        return
    console = out()
    for note in report.notes:
        console.print(f"note: {escape(note)}", soft_wrap=True)
    if report.ok:
        console.print(
            f"verified release {escape(str(report.release))}: {report.entries} entries, {report.files} files, "
            f"{report.envelopes} signed envelopes"
        )
        return
    for problem in report.problems:
        console.print(f"[red]FAILED[/] {escape(problem.file)}: {escape(problem.detail)}", soft_wrap=True)
    raise CheckFailedError(f"bundle {bundle} does not verify: {len(report.problems)} problem(s)")
