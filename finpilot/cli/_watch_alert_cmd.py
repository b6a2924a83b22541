"""``finpilot watch``: alert rules, silences and sinks."""

from __future__ import annotations

import typer


def add_alert_commands(app: typer.Typer) -> None:
    """Add the alert commands to the ``watch`` group."""
