"""Every command and group documents itself (sqlite-utils' test_docs, for Typer)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import typer.main
from typer.testing import CliRunner

from finpilot.cli import app


def _walk(command: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], Any]]:
    yield path, command
    for name, sub in getattr(command, "commands", {}).items():
        yield from _walk(sub, (*path, name))


COMMANDS = list(_walk(typer.main.get_command(app)))
EXPECTED = {
    ("config", "schema"),
    ("config", "check"),
    ("config", "show"),
    ("token", "create"),
    ("token", "list"),
    ("token", "revoke"),
    ("audit", "append"),
    ("audit", "tail"),
    ("audit", "verify"),
    ("audit", "prove"),
    ("audit", "consistency"),
    ("audit", "checkpoint", "sign"),
    ("audit", "checkpoint", "list"),
    ("audit", "public-key"),
    ("audit", "export"),
    ("audit", "verify-export"),
    ("audit", "erase"),
    ("fraud", "replay"),
    ("fraud", "train"),
    ("fraud", "model", "list"),
    ("fraud", "drift"),
    ("fraud", "retrain"),
    ("fraud", "model", "promote"),
    ("fraud", "model", "rollback"),
    ("fraud", "serve"),
    ("fraud", "publish"),
    ("runtime", "up"),
    ("runtime", "status"),
    ("runtime", "apply"),
    ("node", "drain"),
    ("chaos", "kill"),
    ("chaos", "hang"),
    ("chaos", "latency"),
    ("chaos", "node-down"),
    ("up",),
}


def test_every_documented_command_exists() -> None:
    assert {path for path, _ in COMMANDS} >= EXPECTED


@pytest.mark.parametrize(("path", "command"), COMMANDS, ids=lambda v: " ".join(v) if isinstance(v, tuple) else "")
def test_help_text(path: tuple[str, ...], command: Any) -> None:
    assert (command.help or "").strip(), f"finpilot {' '.join(path)} has no help text"
    for param in command.params:
        if param.name in {"help"}:
            continue
        assert (getattr(param, "help", None) or "").strip(), f"finpilot {' '.join(path)}: {param.name} has no help"
    result = CliRunner().invoke(app, [*path, "--help"])
    assert result.exit_code == 0, result.output
    assert "Usage" in result.output
