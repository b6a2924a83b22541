"""``finpilot traffic``: synthetic card payments with labelled fraud, as a CSV or live over HTTP."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Annotated

import typer

from finpilot.cli._output import JsonFlag, busy, out, print_json, table
from finpilot.core import SecretRef
from finpilot.fraud import Shift, TrafficConfig, fraud_rates_for, generate_payments, run_traffic
from finpilot.watch import RateSchedule, ScheduleError

traffic_app = typer.Typer(
    help="Synthetic card payments for customers and terminals, with injected, labelled fraud.", no_args_is_help=True
)
"""The ``traffic`` command group."""

_SHIFT_HELP = (
    "Drift: comma-separated name=factor among amount_scale, rate_scale, terminal_fraud_scale, customer_fraud_scale."
)

Seed = Annotated[int, typer.Option("--seed", help="Seed of the population and the stream.")]
Customers = Annotated[int, typer.Option("--customers", min=1, help="Number of customers.")]
Terminals = Annotated[int, typer.Option("--terminals", min=1, help="Number of terminals (merchants).")]
FraudRate = Annotated[
    float,
    typer.Option(
        "--fraud-rate", min=0.0, max=0.5, help="Steady-state share of compromised-terminal and -customer fraud."
    ),
]
ShiftOpt = Annotated[str, typer.Option("--shift", help=_SHIFT_HELP)]


def _shift(text: str) -> Shift:
    try:
        return Shift.parse(text)
    except Exception as exc:  # InputError: shown as a usage error naming the option (exit 2)
        raise typer.BadParameter(str(getattr(exc, "message", exc)), param_hint="--shift") from None


@traffic_app.command("csv")
def csv_cmd(
    out_file: Annotated[Path, typer.Option("--out", dir_okay=False, help="CSV file to write (handbook schema).")],
    days: Annotated[int, typer.Option("--days", min=1, help="Simulated days.")] = 60,
    customers: Customers = 200,
    terminals: Terminals = 400,
    seed: Seed = 0,
    start: Annotated[str, typer.Option("--start", help="Date of the first simulated day (YYYY-MM-DD).")] = "2018-04-01",
    fraud_rate: FraudRate = 0.02,
    shift: ShiftOpt = "",
    as_json: JsonFlag = False,
) -> None:
    """Write a handbook-schema CSV with TX_FRAUD and TX_FRAUD_SCENARIO labels; same seed, same file."""
    per_terminal, per_customer = fraud_rates_for(fraud_rate, customers=customers, terminals=terminals)
    count = generate_payments(
        out_file,
        customers=customers,
        terminals=terminals,
        days=days,
        start=start,
        compromised_terminals_per_day=per_terminal,
        compromised_customers_per_day=per_customer,
        seed=seed,
        shift=_shift(shift),
    )
    if as_json:
        print_json({"path": str(out_file), "payments": count, "days": days, "seed": seed})
    else:
        out().print(f"wrote {count} payments over {days} days to {out_file}")


@traffic_app.command("run")
def run_cmd(  # the defaults name where a token is, never a token  # nosec B107
    url: Annotated[str, typer.Option("--url", help="Base URL of the payments service, e.g. http://127.0.0.1:8080.")],
    rate: Annotated[float, typer.Option("--rate", min=0.001, max=100_000, help="Authorizations per second.")] = 200.0,
    duration: Annotated[float, typer.Option("--duration", min=0.001, max=86_400, help="Seconds of sending.")] = 60.0,
    seed: Seed = 0,
    customers: Customers = 500,
    terminals: Terminals = 1000,
    fraud_rate: FraudRate = 0.02,
    shift: ShiftOpt = "",
    skip_days: Annotated[
        int, typer.Option("--skip-days", min=0, help="Simulated days generated but not sent (history, warm-up).")
    ] = 28,
    capture_share: Annotated[
        float,
        typer.Option("--capture-share", min=0.0, max=1.0, help="Share of authorized payments also captured."),
    ] = 0.1,
    concurrency: Annotated[int, typer.Option("--concurrency", min=1, max=1024, help="Most requests in flight.")] = 64,
    csv_file: Annotated[
        Path | None,
        typer.Option(
            "--csv",
            exists=True,
            dir_okay=False,
            help="Replay this handbook-schema CSV (file order) instead of generating; its ids make the population.",
        ),
    ] = None,
    population_out: Annotated[
        Path | None,
        typer.Option(
            "--population-out",
            dir_okay=False,
            help="Write JSON mapping CUSTOMER_ID/TERMINAL_ID to the service's account ids (no card data).",
        ),
    ] = None,
    token_env: Annotated[
        str,
        typer.Option("--token-env", help="Environment variable holding the payments API token (admin scope)."),
    ] = "FINPILOT_PAYMENTS_TOKEN",  # noqa: S107 - a variable's name, not a secret
    token_file: Annotated[
        Path | None,
        typer.Option("--token-file", dir_okay=False, help="A chmod 600 file holding the token instead."),
    ] = None,
    surge: Annotated[
        str | None,
        typer.Option(
            "--surge",
            help="A daily 'market open' surge on top of --rate: PERIOD_S,AT_S,FOR_S,FACTOR, e.g. 120,80,20,2.5 "
            "(days start when sending does); the JSON report adds the latency within each surge.",
        ),
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Open accounts and cards, then send authorizations (and captures) at a rate; report the outcomes.

    Card numbers are generated test numbers, tokenised by the service and never shown. The
    payments API token is taken by reference, never as a flag's value.
    """
    if not url.startswith(("http://", "https://")):
        raise typer.BadParameter("use an http:// or https:// base URL", param_hint="--url")
    config = TrafficConfig(
        url=url,
        rate=rate,
        duration_s=duration,
        seed=seed,
        customers=customers,
        terminals=terminals,
        fraud_rate=fraud_rate,
        shift=_shift(shift),
        skip_days=skip_days,
        capture_share=capture_share,
        population_out=population_out,
        csv_path=csv_file,
        concurrency=concurrency,
        token=_token_ref(token_env, token_file),
        schedule=None if surge is None else _schedule(surge, rate),
    )
    with busy(f"sending {rate:g} payments/s to {url} for {duration:g} s"):
        report = run_traffic(config)
    if as_json:
        print_json(report)
        return
    console = out()
    console.print(
        f"sent {report['sent']} at {report['achieved_rate']}/s (target {rate:g}); "
        f"approved {report['approved']}, reviewed {report['reviewed']}, declined {report['declined']}, "
        f"errors {report['errors']}; latency p50 {report['latency_ms']['p50']} ms, p99 {report['latency_ms']['p99']} ms"
    )
    for window in report.get("surges", []):
        console.print(
            f"surge {window['start']:.0f}-{window['end']:.0f}: {window['answered']} answered, "
            f"p50 {window['latency_ms']['p50']} ms, p99 {window['latency_ms']['p99']} ms"
        )
    grid = table("pattern", "sent", "approved", "reviewed", "declined", "errors", title="outcomes per injected pattern")
    for name, row in report["scenarios"].items():
        grid.add_row(name, *(str(row[k]) for k in ("sent", "approved", "reviewed", "declined", "errors")))
    console.print(grid)


def _schedule(text: str, rate: float) -> RateSchedule:
    """``PERIOD_S,AT_S,FOR_S,FACTOR`` as a schedule over ``rate``, day 0 starting now."""
    parts = text.split(",")
    try:
        period, at, length, factor = (float(p) for p in parts)
    except ValueError:
        raise ScheduleError(
            f"--surge {text!r} is not PERIOD_S,AT_S,FOR_S,FACTOR", field="--surge", fix="e.g. --surge 120,80,20,2.5"
        ) from None
    schedule = RateSchedule(rate, period, at, length, factor, origin=time.time())
    schedule.check()
    return schedule


def _token_ref(env: str, file: Path | None) -> SecretRef | None:
    """The token's reference: the file when given, else the variable when it is set (else none)."""
    if file is not None:
        return SecretRef(file=file)
    return SecretRef(env=env) if os.environ.get(env) else None
