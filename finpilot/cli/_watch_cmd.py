"""``finpilot watch``: metrics, anomaly detection, forecasting, autoscaling and alerts.

Each part adds its commands through a function that receives the group, so this module only
lists them.
"""

from __future__ import annotations

import typer

from finpilot.cli._watch_alert_cmd import add_alert_commands
from finpilot.cli._watch_metrics_cmd import add_metrics_commands
from finpilot.cli._watch_nab_cmd import add_nab_commands
from finpilot.cli._watch_scale_cmd import add_scale_commands

watch_app = typer.Typer(
    help="Watch: metrics, streaming anomaly detection, forecasts, predictive autoscaling and alerts.",
    no_args_is_help=True,
)
"""The ``watch`` command group."""

add_metrics_commands(watch_app)
add_nab_commands(watch_app)
add_scale_commands(watch_app)
add_alert_commands(watch_app)
