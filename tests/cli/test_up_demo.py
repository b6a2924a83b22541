"""``finpilot up`` with no config: a model, the payments service and live traffic; stops clean on SIGTERM."""

from __future__ import annotations

import queue
import re
import signal
import subprocess
import threading
import time
from pathlib import Path

import httpx
import pytest
from cli_helpers import finpilot_argv, subprocess_env

from finpilot.audit import open_ledger
from finpilot.core import demo_settings

# Start-up trains a model (about 3 s alone); on a loaded 2-core machine imports alone can take 15 s.
STARTUP_TIMEOUT_S = 120
DECISIONS_TIMEOUT_S = 90


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
            return line.split(": ", 1)[1].strip()
    raise AssertionError(f"no line starting with {prefix!r} within {STARTUP_TIMEOUT_S}s; got {seen}")


def _decisions(metrics: str) -> float:
    return sum(float(v) for v in re.findall(r'^payments_decisions_total\{action="\w+"\} (\S+)$', metrics, re.M))


@pytest.mark.slow
def test_the_demo_runs_payments_with_live_traffic_and_stops_clean(tmp_path: Path) -> None:
    data_dir, home = tmp_path / "data", tmp_path / "home"
    home.mkdir()
    argv = [*finpilot_argv(), "--data-dir", str(data_dir), "up", "--port", "0", "--traffic-rate", "20"]
    proc = subprocess.Popen(
        argv, cwd=tmp_path, env=subprocess_env(home), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    sink: queue.Queue[str] = queue.Queue()
    reader = threading.Thread(target=_lines, args=(proc.stdout, sink), daemon=True)
    reader.start()
    seen: list[str] = []
    try:
        console = _wait_for(sink, "finpilot console: ", seen)
        payments = _wait_for(sink, "payments service: ", seen)
        first = httpx.get(f"{console}/healthz", timeout=10).json()["ledger_size"]
        deadline = time.monotonic() + DECISIONS_TIMEOUT_S
        decided = 0.0
        while time.monotonic() < deadline and decided < 20:
            time.sleep(1)
            decided = _decisions(httpx.get(f"{payments}/metrics", timeout=10).text)
        assert decided >= 20, f"only {decided} decisions in {DECISIONS_TIMEOUT_S}s"
        assert httpx.get(f"{console}/healthz", timeout=10).json()["ledger_size"] > first
        assert httpx.get(f"{payments}/v1/ledger/check", timeout=10).json()["balanced"]
        proc.send_signal(signal.SIGTERM)
        returncode = proc.wait(timeout=60)
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
    assert "Traceback" not in stderr, stderr
    assert "Task exception" not in stderr, stderr

    # The model is in the ledger, the decisions too, and the state was saved for the next start.
    assert (data_dir / "fraud" / "features.snapshot").is_file()
    assert (data_dir / "models" / "demo" / "manifest.json").is_file()
    with open_ledger(demo_settings(data_dir)) as ledger:
        kinds = {e.fields["kind"] for e in ledger.tail(min(ledger.size, 10_000))}
        report = ledger.verify()
    assert {"fraud.model", "fraud.decision", "console.lifecycle"} <= kinds
    assert report.ok, report.problems
