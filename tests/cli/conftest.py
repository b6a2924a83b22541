"""Fixtures for CLI tests: an in-process runner on a temporary data dir, and real subprocesses."""

from __future__ import annotations

from pathlib import Path

import pytest
from cli_helpers import Invoke
from typer.testing import CliRunner, Result

from finpilot.cli import app


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    """A data directory of its own for each test."""
    return tmp_path / "data"


@pytest.fixture
def invoke(data_dir: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Invoke:
    """Run ``finpilot --data-dir <tmp> ARGS...`` in process; returns typer's Result."""
    # Run from an empty directory so a finpilot.yaml lying around the checkout is never read.
    work = tmp_path / "cwd"
    work.mkdir()
    monkeypatch.chdir(work)
    for name in ("FINPILOT_CONFIG", "FINPILOT_DATA_DIR"):
        monkeypatch.delenv(name, raising=False)
    runner = CliRunner()

    def run(*args: str, input: str | None = None, data: bool = True) -> Result:
        prefix = ["--data-dir", str(data_dir)] if data else []
        return runner.invoke(app, [*prefix, *args], input=input)

    return run
