"""Fixtures for the payments service: a real database on each backend, and a client on the app."""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from finpilot_payments import AllowAllDecider, Database, DecisionClient, PaymentsSettings, create_app, open_database
from payments_helpers import ADMIN_TOKEN, Bank, bearer
from starlette.testclient import TestClient


@pytest.fixture(params=["sqlite", "postgres"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> PaymentsSettings:
    """Settings for each backend in turn: SQLite in tmp_path, then PostgreSQL in a fresh schema."""
    if request.param == "postgres":
        dsn = request.getfixturevalue("pg_dsn")
        schema = request.getfixturevalue("pg_schema")
        return PaymentsSettings(data_dir=tmp_path / "data", dsn=dsn, schema_name=schema, bootstrap_token=ADMIN_TOKEN)
    return PaymentsSettings(data_dir=tmp_path / "data", bootstrap_token=ADMIN_TOKEN)


@pytest.fixture
def sqlite_settings(tmp_path: Path) -> PaymentsSettings:
    """SQLite only (for tests that are about the app, not the storage)."""
    return PaymentsSettings(data_dir=tmp_path / "data", bootstrap_token=ADMIN_TOKEN)


@pytest.fixture
def database(backend: PaymentsSettings) -> Iterator[Database]:
    """The backend's database, closed afterwards."""
    db = open_database(backend)
    yield db
    db.close()


MakeBank = Callable[..., Bank]


@pytest.fixture
def make_bank(backend: PaymentsSettings, database: Database) -> Iterator[MakeBank]:
    """``make_bank(decider=None, **settings)``: a :class:`Bank` on the backend's database."""
    clients: list[TestClient] = []
    counter = itertools.count()

    def make(decider: DecisionClient | None = None, **settings: Any) -> Bank:
        cfg = dataclasses.replace(backend, **settings)
        app = create_app(cfg, database=database, decider=decider or AllowAllDecider())
        client = TestClient(app, headers=bearer(ADMIN_TOKEN))
        clients.append(client)
        return Bank(client, database, counter)

    yield make
    for client in clients:
        client.close()


@pytest.fixture
def bank(make_bank: MakeBank) -> Bank:
    """A bank with the allow-all decider on the backend's database."""
    return make_bank()
