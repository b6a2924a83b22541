"""Security finding 11 for the payments service: its data directory is 0700 and payments.db (with -wal, -shm) 0600."""

from __future__ import annotations

import logging
import os
import stat
from pathlib import Path

import pytest
from finpilot_payments import PaymentsSettings, create_app
from payments_helpers import ADMIN_TOKEN, bearer
from starlette.testclient import TestClient


def _start(data_dir: Path) -> dict[str, int]:
    """Start the app, write through it, and return the modes in the data directory while it runs."""
    settings = PaymentsSettings(data_dir=data_dir, bootstrap_token=ADMIN_TOKEN)
    with TestClient(create_app(settings), headers=bearer(ADMIN_TOKEN)) as client:
        created = client.post(
            "/v1/accounts",
            json={"kind": "customer", "currency": "EUR", "overdraft_limit": 0},
            headers={"Idempotency-Key": "private-files-1"},
        )
        assert created.status_code == 201, created.text
        modes = {p.name: stat.S_IMODE(p.stat().st_mode) for p in data_dir.iterdir()}
        modes["."] = stat.S_IMODE(data_dir.stat().st_mode)
    return modes


def test_payments_data_is_private_under_umask_022(tmp_path: Path, umask_022: None) -> None:
    modes = _start(tmp_path / "data")
    assert {"payments.db", "payments.db-wal", "payments.db-shm"} <= set(modes)
    assert modes == {name: 0o700 if name == "." else 0o600 for name in modes}


def test_loose_payments_dir_is_tightened_at_start(
    tmp_path: Path, umask_022: None, caplog: pytest.LogCaptureFixture
) -> None:
    data_dir = tmp_path / "data"
    _start(data_dir)
    os.chmod(data_dir, 0o755)
    (data_dir / "payments.db").chmod(0o644)
    with caplog.at_level(logging.WARNING, logger="finpilot_payments"):
        modes = _start(data_dir)
    assert "readable by other users" in caplog.text
    assert modes == {name: 0o700 if name == "." else 0o600 for name in modes}
