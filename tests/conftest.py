"""Shared fixtures: real services, never mocks of them.

A test that needs PostgreSQL fails when it is unreachable under CI (``CI`` set), and is
skipped with the reason outside CI, so a laptop without PostgreSQL can still run the rest.
"""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg
import pytest
from hypothesis import settings as hypothesis_settings
from psycopg import sql

from finpilot.core import Settings, StorageSettings
from finpilot.fraud import generate_payments, read_payments, train_artifact

# CI runs each property on a fixed, reproducible set of examples: a red CI must mean the code,
# never the draw. Local runs keep hypothesis' random exploration, which is what finds bugs.
hypothesis_settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI"):
    hypothesis_settings.load_profile("ci")

PG_DSN = os.environ.get("FINPILOT_TEST_PG_DSN", "postgresql://postgres@127.0.0.1:5432/test")
NATS_URL = os.environ.get("FINPILOT_TEST_NATS_URL", "nats://127.0.0.1:4222")


def need_service(reason: str) -> None:
    """Fail under CI, skip elsewhere: a missing service must never pass silently in CI."""
    if os.environ.get("CI"):
        pytest.fail(f"{reason} (CI is set, so this is a failure, not a skip)")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def pg_dsn() -> str:
    """A reachable PostgreSQL DSN."""
    try:
        with psycopg.connect(PG_DSN, connect_timeout=5) as conn:
            conn.execute("SELECT 1")
    except psycopg.Error as exc:
        need_service(
            f"PostgreSQL at {PG_DSN} is unreachable ({type(exc).__name__}); start it or set FINPILOT_TEST_PG_DSN"
        )
    return PG_DSN


@pytest.fixture(scope="session")
def nats_url() -> str:
    """A reachable NATS server (with JetStream) URL."""
    host, _, port = NATS_URL.rpartition("/")[2].partition(":")
    try:
        with socket.create_connection((host, int(port or 4222)), timeout=5):
            pass
    except OSError as exc:
        need_service(f"NATS at {NATS_URL} is unreachable ({exc}); start nats-server -js or set FINPILOT_TEST_NATS_URL")
    return NATS_URL


@pytest.fixture
def pg_schema(pg_dsn: str) -> Iterator[str]:
    """A fresh schema, dropped afterwards."""
    name = "t_" + uuid.uuid4().hex[:12]
    yield name
    with psycopg.connect(pg_dsn, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(name)))


@pytest.fixture(params=["sqlite", "postgres"])
def backend_settings(request: pytest.FixtureRequest, tmp_path: Path) -> Callable[..., Settings]:
    """Build Settings for each backend in turn: ``backend_settings(**audit_overrides)``."""

    def make(**audit: object) -> Settings:
        base = Settings(data_dir=tmp_path / "data")
        if audit:
            base = base.model_copy(update={"audit": base.audit.model_copy(update=audit)})
        if request.param == "postgres":
            schema = request.getfixturevalue("pg_schema")
            dsn = request.getfixturevalue("pg_dsn")
            base = base.model_copy(update={"storage": StorageSettings(dsn=dsn, schema_name=schema)})
        return base

    return make


@pytest.fixture(scope="session")
def tiny_fraud_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fraud model artifact directory trained on 30 days of seeded synthetic payments (about a second)."""
    root = tmp_path_factory.mktemp("fraud-model")
    csv_path = root / "payments.csv"
    generate_payments(csv_path, customers=100, terminals=200, days=30, seed=1)
    train_artifact(read_payments(csv_path)).save(root / "model")
    return root / "model"


@pytest.fixture
def umask_022() -> Iterator[None]:
    """The usual umask, under which files are created 0644 unless asked otherwise (restored afterwards)."""
    old = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(old)
