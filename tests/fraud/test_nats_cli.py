"""``finpilot fraud publish`` and ``finpilot fraud serve``: the command-line edges of the NATS mode."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from nats_helpers import unique_layout
from typer.testing import CliRunner

from finpilot.cli import app
from finpilot.fraud import connect_nats, generate_payments
from finpilot.fraud._serving._nats_layout import delete_jetstream


@pytest.fixture
def runner(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    """A runner in an empty directory, so no finpilot.yaml is read by accident."""
    work = tmp_path / "cwd"
    work.mkdir()
    monkeypatch.chdir(work)
    for name in ("FINPILOT_CONFIG", "FINPILOT_DATA_DIR", "FINPILOT_NATS_URL"):
        monkeypatch.delenv(name, raising=False)
    return CliRunner()


def test_publish_stores_each_payment_once(runner: CliRunner, nats_url: str, tmp_path: Path) -> None:
    csv_path = tmp_path / "payments.csv"
    generate_payments(csv_path, customers=20, terminals=40, days=3, seed=2)
    layout = unique_layout(partitions=4)
    args = ["fraud", "publish", "--csv", str(csv_path), "--nats", nats_url, "--prefix", layout.prefix]
    try:
        first = runner.invoke(app, [*args, "--partitions", "4", "--json"])
        again = runner.invoke(app, [*args, "--partitions", "4", "--json"])
        other = runner.invoke(app, [*args, "--partitions", "5"])
    finally:

        async def clean() -> None:
            nc = await connect_nats(nats_url)
            await delete_jetstream(nc.jetstream(), layout)
            await nc.close()

        asyncio.run(clean())
    assert first.exit_code == 0, first.output
    report = json.loads(first.stdout)
    assert report["read"] > 50
    assert report["stored"] == report["read"]
    assert json.loads(again.stdout) == {"read": report["read"], "stored": 0, "duplicates": report["read"]}
    assert other.exit_code == 2
    assert "4 partitions" in other.output


def test_serve_needs_a_worker_id_and_a_model(runner: CliRunner, tmp_path: Path) -> None:
    data = ["--data-dir", str(tmp_path / "data")]
    no_id = runner.invoke(app, [*data, "fraud", "serve", "--nats", "nats://127.0.0.1:4222"])
    assert no_id.exit_code == 2
    assert "--worker-id" in no_id.output
    no_model = runner.invoke(app, [*data, "fraud", "serve", "--nats", "nats://127.0.0.1:4222", "--worker-id", "w1"])
    assert no_model.exit_code == 2
    assert "no fraud model configured" in no_model.output


def test_publish_to_an_unreachable_server_exits_1(runner: CliRunner, tmp_path: Path) -> None:
    csv_path = tmp_path / "payments.csv"
    generate_payments(csv_path, customers=5, terminals=5, days=1, seed=2)
    result = runner.invoke(app, ["fraud", "publish", "--csv", str(csv_path), "--nats", "nats://127.0.0.1:1"])
    assert result.exit_code == 1
    assert "cannot reach the NATS server" in result.output
