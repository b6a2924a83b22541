"""``finpilot watch``: scrape targets, query the metrics store."""

from __future__ import annotations

import typer


def add_metrics_commands(app: typer.Typer) -> None:
    """Add the metrics commands to the ``watch`` group."""
