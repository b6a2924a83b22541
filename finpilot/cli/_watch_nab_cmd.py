"""``finpilot watch``: run a detector over the Numenta Anomaly Benchmark, or score published outputs."""

from __future__ import annotations

import typer


def add_nab_commands(app: typer.Typer) -> None:
    """Add the nab commands to the ``watch`` group."""
