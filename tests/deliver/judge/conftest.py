"""Fixtures for the judge tests: a data dir, a real ledger and token store, the console on them, the CLI."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from starlette.testclient import TestClient
from typer.testing import CliRunner, Result

from finpilot.audit import Ledger, open_ledger
from finpilot.cli import app as cli_app
from finpilot.console import TokenStore, create_app, open_token_store
from finpilot.core import FakeClock, Settings


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Settings on a data dir of this test's own."""
    return Settings(data_dir=tmp_path / "data")


@pytest.fixture
def ledger(settings: Settings) -> Iterator[Ledger]:
    """A real SQLite ledger, closed afterwards."""
    with open_ledger(settings) as opened:
        yield opened


@pytest.fixture
def tokens(settings: Settings) -> Iterator[TokenStore]:
    """The SQLite token store beside the ledger."""
    with open_token_store(settings, clock=FakeClock()) as store:
        yield store


@pytest.fixture
def console(settings: Settings, ledger: Ledger, tokens: TokenStore) -> FastAPI:
    """The console app over the real ledger and token store."""
    return create_app(settings, ledger, tokens)


@pytest.fixture
def client(console: FastAPI) -> Iterator[TestClient]:
    """An in-process HTTP client."""
    with TestClient(console, base_url="http://testserver") as test_client:
        yield test_client


@pytest.fixture
def invoke(settings: Settings, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Callable[..., Result]:
    """Run ``finpilot --data-dir <tmp> ARGS...`` in process."""
    work = tmp_path / "cwd"
    work.mkdir()
    monkeypatch.chdir(work)
    for name in ("FINPILOT_CONFIG", "FINPILOT_DATA_DIR"):
        monkeypatch.delenv(name, raising=False)
    runner = CliRunner()

    def run(*args: str) -> Result:
        return runner.invoke(cli_app, ["--data-dir", str(settings.data_dir), *args])

    return run
