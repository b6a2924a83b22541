"""``finpilot watch``: forecasts, the predictive autoscaler and its trace simulator."""

from __future__ import annotations

import typer


def add_scale_commands(app: typer.Typer) -> None:
    """Add the scale commands to the ``watch`` group."""
