"""The CLI drives a running ``finpilot runtime up`` through its token-protected local API."""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from heal_helpers import PRIVATE_PUBLIC_POOLS, wait_for
from typer.testing import CliRunner, Result

from finpilot.audit import open_ledger
from finpilot.cli import app
from finpilot.core import NotFoundError, StorageError, load_settings
from finpilot.heal import RuntimeClient

pytestmark = pytest.mark.slow


def _cli(config: Path, *args: str) -> Result:
    # In-process (typer's runner): a fresh `finpilot` process pays the whole CLI's import time,
    # which is many seconds on a loaded machine. `runtime up` itself runs as a real process.
    return CliRunner().invoke(app, ["--config", str(config), *args])


def _status(state: Path) -> dict[str, Any]:
    # Polling goes through the library client: each CLI process pays the whole CLI's import time.
    try:
        return RuntimeClient(state).status()
    except (NotFoundError, StorageError):
        return {}


def test_runtime_up_status_chaos_drain_and_sigterm(tmp_path: Path) -> None:
    web = {
        "module": "http.server",
        "args": ["{port}", "--bind", "127.0.0.1", "--directory", str(tmp_path)],
        "replicas": 2,
        "probes": {"readiness": {"tcp": True, "interval_s": 0.2}},
        "disruption": {"min_available": 1},
        "router": {"port": 0},
    }
    config = tmp_path / "finpilot.yaml"
    runtime = {
        "nodes": [{"name": "n1", "pool": "private"}, {"name": "n2", "pool": "private"}],
        "pools": PRIVATE_PUBLIC_POOLS,
        "services": {"web": web},
    }
    config.write_text(yaml.safe_dump({"data_dir": "data", "runtime": runtime}))
    state = tmp_path / "data" / "runtime"
    with pytest.raises(NotFoundError, match="no runtime is running"):
        RuntimeClient(state).status()
    up = subprocess.Popen(
        [sys.executable, "-m", "finpilot.cli", "--config", str(config), "runtime", "up"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        wait_for(lambda: _status(state) and _status(state)["services"]["web"]["ready"] == 2, 60)
        # A replica can answer its probe before its agent has reported the forked pid.
        wait_for(lambda: _status(state)["replicas"]["web/0@n1"]["pid"] is not None, 20)
        assert stat.S_IMODE((state / "controller.token").stat().st_mode) == 0o600
        shown = _cli(config, "runtime", "status")
        assert shown.exit_code == 0, shown.output
        assert "web/0@n1" in shown.stdout
        before = _status(state)["replicas"]["web/0@n1"]["pid"]
        killed = _cli(config, "chaos", "kill", "web/0", "--json")
        assert killed.exit_code == 0, killed.output
        assert json.loads(killed.stdout)["pid"] == before
        wait_for(lambda: (r := _status(state)["replicas"]["web/0@n1"])["ready"] and r["pid"] != before, 20)
        with pytest.raises(NotFoundError, match="no service named 'nope'"):
            RuntimeClient(state).chaos("kill", "nope/0", actor="cli:test")
        drained = _cli(config, "node", "drain", "n1", "--json")
        assert drained.exit_code == 0, drained.output
        assert json.loads(drained.stdout)["state"] == "drained"
        assert {r["node"] for r in _status(state)["replicas"].values()} == {"n2"}
        # A node whose agent is alive cannot be "brought back": refused, and nothing changes.
        refused = _cli(config, "node", "up", "n1")
        assert refused.exit_code == 2, refused.output
        assert "still has its agent" in refused.output
        assert _status(state)["nodes"]["n1"]["status"] == "Ready"
        token = (state / "controller.token").read_text()
    finally:
        up.send_signal(signal.SIGTERM)
        _, stderr = up.communicate(timeout=30)
    assert up.returncode == 0, stderr
    assert token not in stderr
    assert not (state / "controller.json").exists()
    with pytest.raises(NotFoundError):
        RuntimeClient(state).status()
    with open_ledger(load_settings(config)) as ledger:
        entries = [e.fields for e in reversed(ledger.tail(200))]
    assert [(e["kind"], e["actor"].split(":")[0]) for e in entries if e["kind"] == "chaos.inject"] == [
        ("chaos.inject", "cli")
    ]
    assert any(e["kind"] == "heal.drain" and e["action"] == "complete" for e in entries)
    assert all(token not in json.dumps(e) for e in entries)
    # No replica outlives the runtime.
    for entry in entries:
        pid = entry["evidence"].get("pid")
        if pid:
            with pytest.raises(ProcessLookupError):
                os.kill(pid, 0)
