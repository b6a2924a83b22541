"""``finpilot up`` as a real process: it serves /healthz, prints a demo token once, and stops on SIGTERM."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
from up_process import running_up

from finpilot.audit import open_ledger
from finpilot.cli._up_cmd import demo_token
from finpilot.console import open_token_store
from finpilot.core import demo_settings


def test_up_serves_and_stops_on_sigterm(tmp_path: Path) -> None:
    # No traffic: this test is about the console; tests/cli/test_up_demo.py runs the demo's traffic.
    with running_up(tmp_path, "--host", "127.0.0.1", "--traffic-rate", "0") as up:
        token = up.admin_token
        assert token.startswith("fp_")
        health = httpx.get(f"{up.console}/healthz", timeout=5)
        assert health.status_code == 200
    assert up.returncode == 0, up.stderr
    assert "Traceback" not in up.stderr
    data_dir = up.data_dir

    # The demo token was audited (without its secret), and the ledger was closed cleanly.
    with open_ledger(demo_settings(data_dir)) as ledger:
        entries = [e.fields for e in ledger.tail(50)]
        report = ledger.verify()
    # (The demo's payments replicas get a scoring token of their own, created and revoked by `up`.)
    created = [e for e in entries if e["kind"] == "console.token" and e["evidence"]["role"] == "admin"]
    assert [(e["action"], e["evidence"]) for e in created] == [("create", {"role": "admin", "name": "demo-admin"})]
    assert token not in json.dumps(entries)
    assert report.ok, report.problems


def test_demo_token_gets_a_fresh_name_after_a_revoke(tmp_path: Path) -> None:
    # Token names are never reused, so a second demo token cannot be called demo-admin again.
    settings = demo_settings(tmp_path / "data")
    with open_ledger(settings) as ledger, open_token_store(settings) as store:
        demo_token(store, ledger)
        store.revoke(store.list()[0].id)
        secret = demo_token(store, ledger)
        names = [info.name for info in store.list()]
    assert names == ["demo-admin", "demo-admin-2"]
    assert secret.startswith("fp_")
