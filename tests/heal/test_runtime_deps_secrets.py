"""depends_on holds a service back until its dependency is ready; secrets reach the replica by
reference and never the status, the audit log or the logs.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from heal_helpers import PRIVATE_PUBLIC_POOLS, all_ready, entries, running, slot_replica, wait_for

pytestmark = pytest.mark.slow
SECRET = "s3cr3t-value-9f2c"


def _static(directory: Path, **spec: object) -> dict[str, object]:
    return {"module": "http.server", "args": ["{port}", "--bind", "127.0.0.1", "--directory", str(directory)], **spec}


def test_dependency_order_and_secrets_by_reference(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOST_API_KEY", SECRET)
    flag = tmp_path / "back-ready"
    runtime = {
        "nodes": [{"name": "n1", "pool": "private"}],
        "pools": PRIVATE_PUBLIC_POOLS,
        "services": {
            # Ready only once the test says so, through an exec probe.
            "back": _static(tmp_path, probes={"readiness": {"exec": ["test", "-f", str(flag)], "interval_s": 0.1}}),
            "front": _static(
                tmp_path,
                depends_on=["back"],
                secrets={"API_KEY": {"env": "HOST_API_KEY"}},
                probes={"readiness": {"tcp": True, "interval_s": 0.1}},
            ),
            "broken": _static(tmp_path, secrets={"TOKEN": {"env": "HOST_MISSING_VAR"}}, restart={"backoff_max_s": 1}),
        },
    }
    with running(tmp_path, runtime) as (controller, ledger):
        wait_for(lambda: slot_replica(controller, "back/0") and slot_replica(controller, "back/0")["pid"], 60)
        # back runs but is not ready: passes must hold front back. Two full passes on the controller
        # thread are each a chance to start it wrongly.
        controller.call(controller.reconcile)
        controller.call(controller.reconcile)
        status = controller.status()
        assert not any(r["service"] == "front" for r in status["replicas"].values())
        assert "waiting for back" in status["services"]["front"]["pending"]["front/0"]
        flag.touch()
        wait_for(all_ready(controller, "front", 1), timeout=60)
        pid = wait_for(lambda: (slot_replica(controller, "front/0") or {}).get("pid"), 10)
        environ = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
        assert f"API_KEY={SECRET}".encode() in environ
        failed = wait_for(lambda: [e for e in entries(ledger, "heal.start") if e["outcome"] == "failed"], 30)
        status_text = json.dumps(controller.status())
        all_entries = json.dumps(entries(ledger))
    assert "environment variable HOST_MISSING_VAR (secrets.TOKEN) is not set" in failed[0]["evidence"]["reason"]
    assert SECRET not in status_text
    assert SECRET not in all_entries
    for log in (tmp_path / "state" / "runtime" / "logs").iterdir():
        assert SECRET not in log.read_text(errors="replace")
