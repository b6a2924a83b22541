"""``finpilot up`` with no config: a model, the payments service and live traffic; stops clean on SIGTERM.

By default the payments service runs as 2 replicas on 2 local nodes behind the router and
scores over ``POST /api/v1/fraud/scores``; ``--no-runtime`` keeps it in a thread, scoring in-process.
"""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

import httpx
import pytest
from up_process import running_up

from finpilot.audit import open_ledger
from finpilot.core import demo_settings, resolve_secret
from finpilot.heal import RuntimeClient, demo_payments_token, state_dir_for

DECISIONS_TIMEOUT_S = 90
_TOKEN_SHAPE = re.compile(r"fp_[0-9a-f]{8}_")


def _decisions(metrics: str) -> float:
    return sum(float(v) for v in re.findall(r'^payments_decisions_total\{action="\w+"\} (\S+)$', metrics, re.M))


def _replica_urls(status: dict[str, object]) -> list[str]:
    replicas = status["replicas"]
    assert isinstance(replicas, dict)
    return [f"http://127.0.0.1:{rep['port']}" for rep in replicas.values() if rep["ready"]]


def _payments_token(data_dir: Path) -> str:
    """The payments API token the demo minted at start: by reference, a chmod 600 file of its data directory."""
    ref = demo_payments_token(data_dir)
    assert Path(str(ref.file)).stat().st_mode & 0o777 == 0o600
    return resolve_secret(ref, field="payments token").decode()


def _assert_freeze_reaches_payments(console: str, payments: str, admin_token: str, payments_token: str) -> None:
    """A freeze made in the console reaches the payments service (through the router in runtime mode)."""
    body = {"kind": "customer", "currency": "EUR"}
    refused = httpx.post(f"{payments}/v1/accounts", json=body, headers={"Idempotency-Key": "anonymous"}, timeout=10)
    assert refused.status_code == 401, refused.text
    auth = {"Authorization": f"Bearer {payments_token}"}
    created = httpx.post(
        f"{payments}/v1/accounts",
        json=body,
        headers={"Idempotency-Key": f"freeze-test-{time.time_ns()}", **auth},
        timeout=10,
    )
    assert created.status_code == 201, created.text
    account = created.json()["id"]
    assert httpx.get(f"{payments}/v1/accounts/{account}", timeout=10, headers=auth).json()["frozen"] is False
    frozen = httpx.post(
        f"{console}/api/v1/fraud/accounts/{account}/freeze",
        json={"reason": "test"},
        headers={"Authorization": f"Bearer {admin_token}"},
        timeout=10,
    )
    assert frozen.status_code == 200, frozen.text
    assert httpx.get(f"{payments}/v1/accounts/{account}", timeout=10, headers=auth).json()["frozen"] is True


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["runtime", "no-runtime"])
def test_the_demo_runs_payments_with_live_traffic_and_stops_clean(tmp_path: Path, mode: str) -> None:
    args = ["--traffic-rate", "20"] + (["--no-runtime"] if mode == "no-runtime" else [])
    state = state_dir_for(tmp_path / "data")
    with running_up(tmp_path, *args) as up:
        payments_token = _payments_token(up.data_dir)
        first = httpx.get(f"{up.console}/healthz", timeout=10).json()["ledger_size"]
        urls = [up.payments]
        if mode == "runtime":
            # The printed URL is the router's, in front of 2 ready replicas on 2 private nodes.
            status = RuntimeClient(state).status()
            service = status["services"]["payments"]
            assert up.payments == "http://{}:{}".format(*service["router"])
            assert service["ready"] == 2
            nodes = {rep["node"] for rep in status["replicas"].values()}
            assert len(nodes) == 2
            assert {status["nodes"][n]["pool"] for n in nodes} == {"private"}
            info = json.loads((state / "demo.json").read_text())
            assert info["console"] == up.console
            assert info["payments"] == up.payments
            # The scoring token reaches the replicas by reference, never on a command line.
            for rep in status["replicas"].values():
                cmdline = Path(f"/proc/{rep['pid']}/cmdline").read_bytes().decode(errors="replace")
                assert not _TOKEN_SHAPE.search(cmdline), cmdline
                assert payments_token not in cmdline
            urls = _replica_urls(status)  # each replica counts its own decisions
        deadline = time.monotonic() + DECISIONS_TIMEOUT_S
        decided = 0.0
        while time.monotonic() < deadline and decided < 20:
            time.sleep(1)
            decided = sum(_decisions(httpx.get(f"{url}/metrics", timeout=10).text) for url in urls)
        assert decided >= 20, f"only {decided} decisions in {DECISIONS_TIMEOUT_S}s"
        assert httpx.get(f"{up.console}/healthz", timeout=10).json()["ledger_size"] > first
        books = httpx.get(
            f"{up.payments}/v1/ledger/check", timeout=10, headers={"Authorization": f"Bearer {payments_token}"}
        )
        assert books.json()["balanced"]
        _assert_freeze_reaches_payments(up.console, up.payments, up.admin_token, payments_token)
    assert up.returncode == 0, up.stderr
    assert "Traceback" not in up.stderr, up.stderr
    assert "Task exception" not in up.stderr, up.stderr

    # The model is in the ledger, the decisions too, and the state was saved for the next start.
    data_dir = up.data_dir
    assert (data_dir / "fraud" / "features.snapshot").is_file()
    assert (data_dir / "models" / "demo" / "manifest.json").is_file()
    with open_ledger(demo_settings(data_dir)) as ledger:
        entries = [e.fields for e in ledger.tail(min(ledger.size, 10_000))]
        report = ledger.verify()
    kinds = {e["kind"] for e in entries}
    assert {"fraud.model", "fraud.decision", "console.lifecycle"} <= kinds
    assert report.ok, report.problems
    if mode == "runtime":
        # Scored over HTTP with the dedicated token, which was revoked at stop; the runtime's files are gone.
        # /api/v1/fraud/scores is self-auditing: its fraud.decision entry names the caller (no console.request).
        scored = [
            e
            for e in entries
            if e["kind"] == "fraud.decision"
            and e["evidence"].get("caller", {}).get("request") == "POST /api/v1/fraud/scores"
        ]
        assert scored
        assert all(e["actor"].startswith("token:demo-payments-scorer") for e in scored)
        token_changes = {e["action"] for e in entries if e["kind"] == "console.token"}
        assert {"create", "revoke"} <= token_changes
        assert "heal.start" in kinds
        assert not (state / "demo.json").exists()
        assert not (state / "controller.json").exists()
        for log in (state / "logs").iterdir():
            assert not _TOKEN_SHAPE.search(log.read_text(errors="replace")), log
