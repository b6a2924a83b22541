"""Fixtures for console tests: a real SQLite ledger and token store in tmp_path, and a TestClient on them."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from console_helpers import MakeToken, TestClient, need
from fastapi import FastAPI

from finpilot.audit import Entry, Ledger, open_ledger
from finpilot.console import TokenStore, create_app, open_token_store
from finpilot.core import FakeClock, Settings

CHROMIUM = os.environ.get("FINPILOT_TEST_CHROMIUM", "/usr/bin/chromium")


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Settings on a data dir of this test's own."""
    return Settings(data_dir=tmp_path / "data")


@pytest.fixture
def clock() -> FakeClock:
    """A clock that moves only when told."""
    return FakeClock()


@pytest.fixture
def ledger(settings: Settings) -> Iterator[Ledger]:
    """A real SQLite ledger, closed afterwards."""
    with open_ledger(settings) as opened:
        yield opened


@pytest.fixture
def tokens(settings: Settings, clock: FakeClock) -> Iterator[TokenStore]:
    """The SQLite token store beside the ledger, on the fake clock."""
    with open_token_store(settings, clock=clock) as store:
        yield store


@pytest.fixture
def make_token(tokens: TokenStore) -> MakeToken:
    """Create a token of a role; the name defaults to ``<role>-user``."""

    def make(role: str, name: str | None = None) -> str:
        _info, text = tokens.create(name or f"{role}-user", role)
        return text

    return make


@pytest.fixture
def app(settings: Settings, ledger: Ledger, tokens: TokenStore) -> FastAPI:
    """The console app over the real ledger and token store."""
    return create_app(settings, ledger, tokens)


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    """An in-process HTTP client; ``testserver`` is the Host the CSRF check compares with."""
    with TestClient(app, base_url="http://testserver") as test_client:
        yield test_client


@pytest.fixture
def seeded(ledger: Ledger) -> list[int]:
    """Three entries and a checkpoint covering them."""
    indices = ledger.append_many(
        [
            Entry(kind="custom.deploy", actor="pipeline:main", action="promote", subject=f"service:s{i}", outcome="ok")
            for i in range(3)
        ]
    )
    ledger.checkpoint()
    return indices


@pytest.fixture(scope="session")
def chromium() -> str:
    """Path of Debian's chromium; fail under CI, skip elsewhere when it is missing."""
    if not (Path(CHROMIUM).is_file() and shutil.which(CHROMIUM)):
        need(f"{CHROMIUM} is missing; apt-get install chromium, or set FINPILOT_TEST_CHROMIUM")
    return CHROMIUM
