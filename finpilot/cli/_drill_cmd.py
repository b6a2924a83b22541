"""``finpilot chaos drill``: the fault suite against the demo stack under payment traffic, measured from the records."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape

from finpilot.cli._context import cli_actor, ledger_for
from finpilot.cli._errors import EXIT_FAILED
from finpilot.cli._output import JsonFlag, err, out, print_json, table
from finpilot.cli._runtime_cmd import chaos_app
from finpilot.core import CheckFailedError
from finpilot.heal import default_faults, run_chaos_drill


def _seconds(q: dict[str, Any], key: str) -> str:
    value = q.get(key)
    return "-" if value is None else f"{value:.3f}"


@chaos_app.command("drill")
def chaos_drill(
    ctx: typer.Context,
    trials: Annotated[
        int | None,
        typer.Option(
            min=1,
            help="Trials per fault (default: kill 20, hang 5, latency 5, disk-full 3, db-primary-down 10, "
            "node-down 5).",
        ),
    ] = None,
    faults: Annotated[
        str | None,
        typer.Option(help=f"Comma-separated faults to run (default: all of {', '.join(default_faults())})."),
    ] = None,
    rate: Annotated[float, typer.Option(min=1, max=1000, help="Payment requests per second through the router.")] = 150,
    scratch: Annotated[
        Path | None,
        typer.Option(file_okay=False, help="Directory for the drill's stack, ledger and payments database (kept)."),
    ] = None,
    keep: Annotated[bool, typer.Option("--keep", help="Keep the temporary directory for inspection.")] = False,
    as_json: JsonFlag = False,
) -> None:
    """Run the faults against a fresh demo stack under payment traffic; exit 1 on a failed, lost or duplicated request.

    Detection and recovery times come from the audit log's timestamps, failed requests from the traffic
    generator's record of every request, lost or duplicated payments from the payments database.
    db-primary-down runs the payments on a scratch PostgreSQL HA pair; without PostgreSQL's binaries it
    is reported as skipped.
    """
    names = [n.strip() for n in faults.split(",") if n.strip()] if faults else None
    progress = None if as_json else (lambda message: err().print(escape(message)))
    with ledger_for(ctx) as ledger:
        report = run_chaos_drill(
            faults=names,
            trials=trials,
            rate=rate,
            scratch=scratch,
            keep=keep,
            progress=progress,
            audit=ledger.append,
            actor=cli_actor(),
        )
    data = report.to_json()
    if as_json:
        print_json(data)
    else:
        _print_human(data)
    if not report.ok:
        if as_json:
            raise typer.Exit(EXIT_FAILED)  # the JSON on stdout already says what failed
        totals = data["totals"]
        unrecovered = sum(f["trials"] - f["recovered"] for f in data["faults"].values() if f["heals"])
        raise CheckFailedError(
            f"chaos drill failed: {totals['failed']} failed requests, {totals['lost']} lost and "
            f"{totals['duplicated']} duplicated payments, {unrecovered} trials not recovered, "
            f"{data['payments_ledger']['unbalanced']} ledger problems, audit verified: {data['audit']['verified']}",
            fix="see the per-fault rows and examples above; rerun with --keep to inspect the stack's logs",
        )


def _print_human(data: dict[str, Any]) -> None:
    grid = table(
        "fault",
        "trials",
        "recovered",
        "detect p50 s",
        "detect p95 s",
        "recover p50 s",
        "recover p95 s",
        "requests",
        "failed",
        "lost",
        "dup",
        "anchor",
        title=f"Chaos drill at {data['rate_per_s']:g} payments/s",
    )
    for name, f in data["faults"].items():
        if f["skipped"] is not None:
            grid.add_row(escape(name), "skipped", *["-"] * 10)
            continue
        anchor = ", ".join(
            f"{a}: {v['anchor_s']} s ({v['anchor_over_p95']}x)" if v["anchor_over_p95"] else f"{a}: {v['anchor_s']} s"
            for a, v in f["anchors"].items()
        )
        grid.add_row(
            name,
            str(f["trials"]),
            str(f["recovered"]) if f["heals"] else "not healed",
            _seconds(f["detection_s"], "p50"),
            _seconds(f["detection_s"], "p95"),
            _seconds(f["recovery_s"], "p50"),
            _seconds(f["recovery_s"], "p95"),
            str(f["requests"]),
            str(f["failed"]),
            str(f["lost"]),
            str(f["duplicated"]),
            escape(anchor or "-"),
        )
    console = out()
    console.print(grid)
    for name, f in data["faults"].items():
        if f["skipped"] is not None:
            console.print(f"{escape(name)}: skipped: {escape(f['skipped'])}")
        if "writes_resumed_s" in f:
            resumed, rejoin = f["writes_resumed_s"], f["rejoin_s"]
            console.print(
                f"{escape(name)}: writes resumed p50 {_seconds(resumed, 'p50')} s, p95 {_seconds(resumed, 'p95')} s; "
                f"old primary back as sync standby p50 {_seconds(rejoin, 'p50')} s, p95 {_seconds(rejoin, 'p95')} s; "
                f"{f['retried_requests']} requests resent with their key ({f['resends']} resends)"
            )
        for note in [*f["notes"], *f["examples"]]:
            console.print(f"{escape(name)}: {escape(note)}")
    audit = data["audit"]
    console.print(
        f"payments ledger: {data['payments_ledger']['unbalanced']} unbalanced; audit log: {audit['entries']} entries, "
        f"verified {audit['verified']}, {audit['chaos_inject_entries']} injections found; "
        f"drill took {data['wall_s']} s"
    )
