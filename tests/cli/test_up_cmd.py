"""``finpilot up`` as a real process: it serves /healthz, prints a demo token once, and stops on SIGTERM."""

from __future__ import annotations

import json
import queue
import signal
import subprocess
import threading
import time
from pathlib import Path

import httpx
from cli_helpers import finpilot_argv, subprocess_env

from finpilot.audit import open_ledger
from finpilot.cli._up_cmd import demo_token
from finpilot.console import open_token_store
from finpilot.core import demo_settings

STARTUP_TIMEOUT_S = 120  # the first start trains the demo model


def _lines(stream: object, sink: queue.Queue[str]) -> None:
    for line in stream:  # type: ignore[attr-defined]
        sink.put(line)


def _wait_for(sink: queue.Queue[str], prefix: str, seen: list[str]) -> str:
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while time.monotonic() < deadline:
        try:
            line = sink.get(timeout=0.2)
        except queue.Empty:
            continue
        seen.append(line)
        if line.startswith(prefix):
            return line
    raise AssertionError(f"no line starting with {prefix!r} within {STARTUP_TIMEOUT_S}s; got {seen}")


def test_up_serves_and_stops_on_sigterm(tmp_path: Path) -> None:
    data_dir, home = tmp_path / "data", tmp_path / "home"
    home.mkdir()
    proc = subprocess.Popen(
        # No traffic: this test is about the console; tests/cli/test_up_demo.py runs the demo's traffic.
        [
            *finpilot_argv(),
            "--data-dir",
            str(data_dir),
            "up",
            "--host",
            "127.0.0.1",
            "--port",
            "0",
            "--traffic-rate",
            "0",
        ],
        cwd=tmp_path,
        env=subprocess_env(home),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    sink: queue.Queue[str] = queue.Queue()
    reader = threading.Thread(target=_lines, args=(proc.stdout, sink), daemon=True)
    reader.start()
    seen: list[str] = []
    try:
        url = _wait_for(sink, "finpilot console: ", seen).split(": ", 1)[1].strip()
        token = _wait_for(sink, "fp_", seen).strip()
        health = httpx.get(f"{url}/healthz", timeout=5)
        assert health.status_code == 200
        proc.send_signal(signal.SIGTERM)
        returncode = proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)
        reader.join(timeout=10)
        assert proc.stdout is not None
        assert proc.stderr is not None
        stderr = proc.stderr.read()
        proc.stdout.close()
        proc.stderr.close()
    assert returncode == 0, stderr
    assert "Traceback" not in stderr

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
