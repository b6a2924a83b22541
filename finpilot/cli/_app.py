"""The root ``finpilot`` command: global options and the command groups."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from finpilot import __version__
from finpilot.cli._audit_cmd import audit_app
from finpilot.cli._backup_cmd import backup_app
from finpilot.cli._config_cmd import config_app
from finpilot.cli._context import CliState
from finpilot.cli._db_cmd import db_app
from finpilot.cli._demo_tour_cmd import demo_tour
from finpilot.cli._drill_cmd import chaos_drill as _chaos_drill  # noqa: F401 - registers `chaos drill`
from finpilot.cli._errors import FinpilotGroup
from finpilot.cli._evidence_cmd import evidence_app
from finpilot.cli._fraud_cmd import fraud_app
from finpilot.cli._fraud_scorer_cmd import register_fraud_scorer
from finpilot.cli._fraud_serve_cmd import register_fraud_serve
from finpilot.cli._gate_cmd import gate_app
from finpilot.cli._k8s_cmd import k8s_app
from finpilot.cli._pipeline_cmd import pipeline_app
from finpilot.cli._rollout_cmd import rollout_app
from finpilot.cli._runbook_cmd import runbook_app
from finpilot.cli._runtime_cmd import chaos_app, node_app, runtime_app
from finpilot.cli._supply_cmd import register_supply
from finpilot.cli._token_cmd import token_app
from finpilot.cli._traffic_cmd import traffic_app
from finpilot.cli._up_cmd import up
from finpilot.cli._watch_cmd import watch_app

app = typer.Typer(
    name="finpilot",
    cls=FinpilotGroup,
    help="Run a fintech's operations and prove every automated action in an append-only audit ledger.",
    no_args_is_help=True,
    # Locals in a crash report could hold a freshly minted token or a DSN password.
    pretty_exceptions_show_locals=False,
)
"""The Typer application; :func:`main` runs it."""

app.add_typer(config_app, name="config")
app.add_typer(token_app, name="token")
app.add_typer(audit_app, name="audit")
app.add_typer(backup_app, name="backup")
app.add_typer(k8s_app, name="k8s")
app.add_typer(runtime_app, name="runtime")
app.add_typer(node_app, name="node")
app.add_typer(chaos_app, name="chaos")
app.add_typer(runbook_app, name="runbook")
app.add_typer(db_app, name="db")
register_fraud_serve(fraud_app)
register_fraud_scorer(fraud_app)
app.add_typer(fraud_app, name="fraud")
app.add_typer(traffic_app, name="traffic")
app.add_typer(rollout_app, name="rollout")
app.add_typer(pipeline_app, name="pipeline")
app.add_typer(gate_app, name="gate")
app.add_typer(watch_app, name="watch")
app.command("up")(up)
app.command("demo")(demo_tour)
register_supply(app)
app.add_typer(evidence_app, name="evidence")


def _print_version(value: bool) -> None:
    if value:
        typer.echo(f"finpilot {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    ctx: typer.Context,
    config: Annotated[
        Path | None,
        typer.Option(
            "--config",
            envvar="FINPILOT_CONFIG",
            dir_okay=False,
            help=(
                "Config file. Default: finpilot.yaml in this directory if it exists, else the built-in demo settings."
            ),
        ),
    ] = None,
    data_dir: Annotated[
        Path | None,
        typer.Option(
            "--data-dir",
            envvar="FINPILOT_DATA_DIR",
            file_okay=False,
            help="Directory for state and keys; overrides data_dir from the config.",
        ),
    ] = None,
    version: Annotated[
        bool,
        typer.Option("--version", callback=_print_version, is_eager=True, help="Print the version and exit."),
    ] = False,
) -> None:
    """Run a fintech's operations and prove every automated action in an append-only audit ledger."""
    ctx.obj = CliState(config=config, data_dir=data_dir)


def main() -> None:
    """Entry point of the ``finpilot`` console script."""
    # Everything this process and its children write (databases, backups, models, runtime logs
    # and state) is private. Set here, at the entry point, never in the library: a umask is
    # process-wide, and an application embedding finpilot keeps its own.
    os.umask(0o077)
    app(prog_name="finpilot")
