"""``finpilot audit``: append to the ledger, read it, prove it, and erase personal data."""

from __future__ import annotations

import sys
from typing import Annotated

import typer
from rich.markup import escape
from rich.text import Text

from finpilot.cli._context import cli_actor, ledger_for
from finpilot.cli._entry_input import build_entries, entry_from_options, parse_documents
from finpilot.cli._kinds_cmd import kinds
from finpilot.cli._output import JsonFlag, out, print_json, table
from finpilot.cli._verify_cmd import export, verify, verify_export
from finpilot.core import InputError, NotFoundError

audit_app = typer.Typer(
    help="The append-only audit ledger: append, read, prove, verify, export, erase.", no_args_is_help=True
)
"""The ``audit`` command group."""

checkpoint_app = typer.Typer(
    help="Signed checkpoints of the ledger: sign one now, list the newest.", no_args_is_help=True
)
"""The ``audit checkpoint`` command group."""

audit_app.command("verify")(verify)
audit_app.command("export")(export)
audit_app.command("verify-export")(verify_export)
audit_app.command("kinds")(kinds)
audit_app.add_typer(checkpoint_app, name="checkpoint")

_ENTRY_PANEL = "Entry fields (instead of JSON input)"


@audit_app.command("append")
def append(
    ctx: typer.Context,
    *,
    json_entry: Annotated[
        str | None,
        typer.Option(
            "--json-entry",
            help="Entry JSON: one object, an array of objects, or JSON Lines. Default: read stdin.",
        ),
    ] = None,
    kind: Annotated[
        str | None, typer.Option(help="What sort of record, e.g. deploy.", rich_help_panel=_ENTRY_PANEL)
    ] = None,
    actor: Annotated[
        str | None, typer.Option(help="Who acted, e.g. pipeline:main.", rich_help_panel=_ENTRY_PANEL)
    ] = None,
    action: Annotated[
        str | None, typer.Option(help="What was done, e.g. promote.", rich_help_panel=_ENTRY_PANEL)
    ] = None,
    subject: Annotated[
        str | None,
        typer.Option(help="What it was done to, e.g. service:payments.", rich_help_panel=_ENTRY_PANEL),
    ] = None,
    outcome: Annotated[str | None, typer.Option(help="How it ended, e.g. ok.", rich_help_panel=_ENTRY_PANEL)] = None,
    evidence: Annotated[
        str | None, typer.Option(help="Why: a JSON object of supporting facts.", rich_help_panel=_ENTRY_PANEL)
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Append entries and print their indices; a bad entry rejects the whole batch (exit 2)."""
    fields = (kind, actor, action, subject, outcome, evidence)
    if json_entry is not None and any(value is not None for value in fields):
        raise typer.BadParameter("give --json-entry or the entry options (--kind ...), not both")
    if any(value is not None for value in fields):
        entries = [
            entry_from_options(
                kind=kind, actor=actor, action=action, subject=subject, outcome=outcome, evidence=evidence
            )
        ]
    else:
        if json_entry is None and sys.stdin.isatty():
            # Waiting silently for a terminal user to type JSON looks like a hang; say what to do.
            raise InputError(
                "no entry given",
                fix="pipe entry JSON on stdin, pass --json-entry, or use the entry options (--kind ...)",
            )
        text = json_entry if json_entry is not None else sys.stdin.read()
        # Every entry is built (and so checked) before the ledger opens: a bad line 900 of a
        # batch must leave the log exactly as it was.
        entries = build_entries(parse_documents(text))
    with ledger_for(ctx) as ledger:
        indices = ledger.append_many(entries)
    if as_json:
        print_json({"indices": indices})
    else:
        typer.echo("\n".join(str(index) for index in indices))


LinesOption = Annotated[int, typer.Option("-n", "--lines", min=1, max=10_000, help="How many to show.")]
"""The ``-n`` option of the listing commands."""


@audit_app.command("tail")
def tail(ctx: typer.Context, lines: LinesOption = 20, as_json: JsonFlag = False) -> None:
    """Show the newest entries, oldest first (like tail)."""
    with ledger_for(ctx) as ledger:
        newest_first = ledger.tail(lines)
    entries = list(reversed(newest_first))
    if as_json:
        print_json({"entries": [entry.to_json() for entry in entries]})
        return
    grid = table(
        "index", "time (UTC)", "kind", "actor", "action", "subject", "outcome",
        title="audit ledger", no_wrap=("index", "time (UTC)", "kind", "outcome"),
    )  # fmt: skip
    for entry in entries:
        f = entry.fields
        # Seconds are enough to read a table; --json has the exact time.
        when = str(f.get("time", ""))[:19].replace("T", " ")
        # Text, not str: an entry's fields are untrusted input and must not be read as Rich markup.
        grid.add_row(
            str(entry.index),
            when,
            *(Text(str(f.get(name, ""))) for name in ("kind", "actor", "action", "subject", "outcome")),
        )
    out().print(grid)


@audit_app.command("prove")
def prove(
    ctx: typer.Context,
    index: Annotated[int, typer.Argument(help="Entry index to prove.", min=0)],
    tree_size: Annotated[
        int | None,
        typer.Option(help="Tree size to prove against. Default: the latest signed checkpoint.", min=1),
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Print an RFC 9162 inclusion proof for one entry; --json gives the document a verifier takes."""
    with ledger_for(ctx) as ledger:
        proof = ledger.inclusion_proof(index, tree_size).to_json()
    if as_json:
        print_json(proof)
        return
    signed = "signed checkpoint included" if proof["checkpoint"] else "no signed checkpoint covers it yet"
    _print_proof(
        f"entry {proof['index']} is in the tree of size {proof['tree_size']} ({signed})",
        {"leaf hash": proof["leaf_hash"], "root hash": proof["root_hash"]},
        proof["hashes"],
    )


@audit_app.command("consistency")
def consistency(
    ctx: typer.Context,
    old: Annotated[int, typer.Argument(help="The older tree size.", min=1)],
    new: Annotated[
        int | None, typer.Argument(help="The newer tree size. Default: the latest signed checkpoint.", min=1)
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Print an RFC 9162 consistency proof that the log only grew between two sizes; --json for a verifier."""
    with ledger_for(ctx) as ledger:
        proof = ledger.consistency_proof(old, new).to_json()
    if as_json:
        print_json(proof)
        return
    _print_proof(
        f"the tree of size {proof['new_size']} extends the tree of size {proof['old_size']}",
        {"old root": proof["old_root"], "new root": proof["new_root"]},
        proof["hashes"],
    )


def _print_proof(headline: str, roots: dict[str, object], path: object) -> None:
    # The human view names what is proved and shows the hashes; the --json document is what a
    # verifier (verify_inclusion_proof, verify_consistency_proof) takes, so point there.
    hashes = [str(h) for h in path] if isinstance(path, list) else []
    lines = [headline, *(f"{name}: {value}" for name, value in roots.items())]
    lines.append(f"audit path: {len(hashes)} hashes")
    lines += [f"  {h}" for h in hashes]
    lines.append("save the proof with --json to check it elsewhere")
    out().print("\n".join(lines), soft_wrap=True)


@checkpoint_app.command("sign")
def checkpoint(ctx: typer.Context, as_json: JsonFlag = False) -> None:
    """Sign a checkpoint now (if the log grew) and print the latest signed note."""
    with ledger_for(ctx) as ledger:
        latest = ledger.checkpoint()
    if latest is None:
        raise NotFoundError("the log is empty; there is nothing to sign", fix="append an entry first")
    if as_json:
        print_json(latest.to_json())
    else:
        typer.echo(latest.note, nl=False)


@checkpoint_app.command("list")
def checkpoints(ctx: typer.Context, lines: LinesOption = 20, as_json: JsonFlag = False) -> None:
    """List the newest signed checkpoints, oldest first."""
    with ledger_for(ctx) as ledger:
        latest = ledger.latest_checkpoint()
        found = ledger.checkpoints(after_seq=max(0, latest.seq - lines), limit=lines) if latest else []
    if as_json:
        print_json({"checkpoints": [cp.to_json() for cp in found]})
        return
    grid = table("seq", "tree size", "root hash", "created at", title="signed checkpoints", no_wrap=("seq",))
    for cp in found:
        grid.add_row(str(cp.seq), str(cp.size), cp.root.hex(), cp.created_at)
    out().print(grid)


@audit_app.command("public-key")
def public_key(
    ctx: typer.Context,
    pem: Annotated[bool, typer.Option("--pem", help="Print the PEM public key instead of the verifier key.")] = False,
    as_json: JsonFlag = False,
) -> None:
    """Print the key that verifies this log's checkpoints (safe to publish)."""
    with ledger_for(ctx) as ledger:
        verifier_key, pem_text = ledger.verifier_key(), ledger.public_key_pem()
    if as_json:
        # Both forms whatever --pem says: the shape of the JSON must not depend on a flag.
        print_json({"verifier_key": verifier_key, "pem": pem_text})
        return
    typer.echo(pem_text if pem else verifier_key + "\n", nl=False)


@audit_app.command("erase")
def erase(
    ctx: typer.Context,
    subject: Annotated[str, typer.Argument(help="The data subject, e.g. customer:123.")],
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
    as_json: JsonFlag = False,
) -> None:
    """Erase a data subject's personal data (GDPR Art. 17); proofs and signatures stay valid."""
    if not yes:
        # The prompt goes to stderr so that `--json` output on stdout stays one JSON document.
        typer.confirm(f"Erase all personal data about {subject}? This cannot be undone.", abort=True, err=True)
    with ledger_for(ctx) as ledger:
        report = ledger.erase(subject, actor=cli_actor())
    if as_json:
        print_json(report.to_json())
    elif not report.indices:
        out().print(f"no personal data about {escape(subject)}; nothing erased")
    else:
        out().print(
            f"erased personal data from entries {', '.join(map(str, report.indices))}\n"
            f"erasure recorded at index {report.record_index}",
            soft_wrap=True,
        )
