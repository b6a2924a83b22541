"""``finpilot rollout``: the progressive-delivery command group (the judge's ``rollout judge`` joins it at merge)."""

from __future__ import annotations

import typer

from finpilot.cli._rollout_ops_cmd import add_rollout_ops

rollout_app = typer.Typer(help="Progressive releases: canary and blue-green rollouts, judged.", no_args_is_help=True)
"""The ``rollout`` command group."""
add_rollout_ops(rollout_app)
