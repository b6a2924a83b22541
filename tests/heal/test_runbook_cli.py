"""``finpilot runbook check|list``, and ``runtime up`` running runbooks and scheduled backups."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import yaml
from backup_helpers import KEY_ENV, new_key
from heal_helpers import PRIVATE_PUBLIC_POOLS, wait_for
from typer.testing import CliRunner, Result

from finpilot.audit import open_ledger
from finpilot.cli import app
from finpilot.core import NotFoundError, StorageError, load_settings
from finpilot.heal import RuntimeClient

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "heal" / "runbooks"
PAGE_ON_KILL = {
    "name": "page-on-kill",
    "trigger": {"kind": "chaos.inject", "action": "kill"},
    "actions": [{"page": {"message": "chaos killed {subject}", "severity": "info"}}],
}


def _cli(*args: str) -> Result:
    return CliRunner().invoke(app, list(args))


def test_check_lists_good_runbooks_and_names_the_bad_field(tmp_path: Path) -> None:
    good = _cli("runbook", "check", str(EXAMPLES), "--json")
    assert good.exit_code == 0, good.output
    assert {"crash-loop", "disk-pressure", "node-lost"} <= {b["name"] for b in json.loads(good.stdout)["runbooks"]}
    (tmp_path / "a.yaml").write_text(yaml.safe_dump(PAGE_ON_KILL))
    (tmp_path / "b.yaml").write_text("name: b\ntrigger: {kind: heal.node}\nactions:\n  - scale: {service: x}\n")
    bad = _cli("runbook", "check", str(tmp_path))
    assert bad.exit_code == 2
    text = " ".join(bad.output.split())
    assert f"{tmp_path / 'b.yaml'}:4: invalid runbook field 'actions.0.scale.replicas'" in text
    assert "Field required" in text


def test_list_reads_runbooks_dir_relative_to_the_config(tmp_path: Path) -> None:
    (tmp_path / "books").mkdir()
    (tmp_path / "books" / "kill.yaml").write_text(yaml.safe_dump(PAGE_ON_KILL))
    config = tmp_path / "finpilot.yaml"
    config.write_text(yaml.safe_dump({"data_dir": "data", "runbooks": {"dir": "books"}}))
    listed = _cli("--config", str(config), "runbook", "list", "--json")
    assert listed.exit_code == 0, listed.output
    shown = json.loads(listed.stdout)
    assert shown["dir"] == str(tmp_path / "books")
    [book] = shown["runbooks"]
    assert book["name"] == "page-on-kill"
    assert book["actions"] == [{"page": {"message": "chaos killed {subject}", "severity": "info"}}]
    config.write_text(yaml.safe_dump({"data_dir": "data"}))
    assert "no runbooks" in _cli("--config", str(config), "runbook", "list").output
    empty = _cli("--config", str(config), "runbook", "list", "--json")
    assert json.loads(empty.stdout) == {"dir": None, "runbooks": []}


def test_runtime_up_refuses_bad_runbooks_and_keyless_backups_before_starting(tmp_path: Path) -> None:
    (tmp_path / "books").mkdir()
    (tmp_path / "books" / "bad.yaml").write_text("name: bad\ntrigger: {kind: heal.node}\nactions: [{restart: ''}]\n")
    config = tmp_path / "finpilot.yaml"
    config.write_text(yaml.safe_dump({"data_dir": "data", "runbooks": {"dir": "books"}}))
    refused = _cli("--config", str(config), "runtime", "up")
    assert refused.exit_code == 2
    assert f"{tmp_path / 'books' / 'bad.yaml'}:3: invalid runbook field 'actions.0.restart'" in " ".join(
        refused.output.split()
    )
    assert not (tmp_path / "data" / "runtime" / "controller.json").exists()
    config.write_text(yaml.safe_dump({"data_dir": "data", "backup": {"interval_s": 60}}))
    keyless = _cli("--config", str(config), "runtime", "up")
    assert keyless.exit_code == 2
    assert "no backup key is configured" in keyless.output
    assert not (tmp_path / "data" / "runtime").exists()


def _status(state: Path) -> dict[str, Any]:
    try:
        return RuntimeClient(state).status()
    except (NotFoundError, StorageError):
        return {}


@pytest.mark.slow
def test_runtime_up_runs_runbooks_and_scheduled_backups(tmp_path: Path) -> None:
    (tmp_path / "books").mkdir()
    (tmp_path / "books" / "kill.yaml").write_text(yaml.safe_dump(PAGE_ON_KILL))
    web = {
        "module": "http.server",
        "args": ["{port}", "--bind", "127.0.0.1", "--directory", str(tmp_path)],
        "probes": {"readiness": {"tcp": True, "interval_s": 0.2}},
    }
    config = tmp_path / "finpilot.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "data_dir": "data",
                "runtime": {
                    "nodes": [{"name": "n1", "pool": "private"}],
                    "pools": PRIVATE_PUBLIC_POOLS,
                    "services": {"web": web},
                },
                "runbooks": {"dir": "books"},
                "backup": {"key": {"env": KEY_ENV}, "interval_s": 2, "keep_last": 1},
            }
        )
    )
    settings = load_settings(config)
    state = tmp_path / "data" / "runtime"
    up = subprocess.Popen(
        [sys.executable, "-m", "finpilot.cli", "--config", str(config), "runtime", "up"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, KEY_ENV: new_key()},
    )
    try:
        wait_for(lambda: (s := _status(state)) and s["services"]["web"]["ready"] == 1, 90)
        wait_for(lambda: _status(state)["replicas"]["web/0@n1"]["pid"] is not None, 20)
        killed = CliRunner().invoke(app, ["--config", str(config), "chaos", "kill", "web/0"])
        assert killed.exit_code == 0, killed.output

        def kinds() -> list[str]:
            with open_ledger(settings) as ledger:
                return [e.fields["kind"] for e in ledger.tail(500)]

        deadline = time.monotonic() + 90  # a loaded 2-core machine: backups every 2 s may lag
        while not ("runbook.page" in (seen := kinds()) and seen.count("backup.create") >= 2):
            assert time.monotonic() < deadline, f"no page and 2 backups in the ledger: {sorted(set(seen))}"
            time.sleep(0.5)
    finally:
        up.send_signal(signal.SIGTERM)
        _, stderr = up.communicate(timeout=60)
    assert up.returncode == 0, stderr
    assert "runbooks: page-on-kill; backups every 2 s" in stderr
    with open_ledger(settings) as ledger:
        found = [e.fields for e in reversed(ledger.tail(500))]
    [page] = [e for e in found if e["kind"] == "runbook.page"]
    assert page["evidence"]["message"] == "chaos killed replica:web/0"
    assert any(e["kind"] == "backup.prune" for e in found)  # keep_last 1: the second backup pruned the first
    assert not any(e["kind"] in ("backup.failed", "runbook.escalate") for e in found)
