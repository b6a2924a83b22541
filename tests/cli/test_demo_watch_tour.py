"""``finpilot demo --part watch`` against a real ``finpilot up``: latency on one replica, alert, runbook, recovery."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from cli_helpers import finpilot_argv
from up_process import env_for, running_up

from finpilot.audit import open_ledger
from finpilot.core import demo_settings


@pytest.mark.slow
def test_the_watch_tour_sees_the_alert_the_runbook_restart_and_the_recovery(tmp_path: Path) -> None:
    with running_up(tmp_path, "--traffic-rate", "10") as up:
        tour = subprocess.run(
            [*finpilot_argv(), "--data-dir", str(up.data_dir), "demo", "--part", "watch", "--json", "--timeout", "90"],
            check=False,
            cwd=tmp_path,
            env=env_for(tmp_path),
            capture_output=True,
            text=True,
            timeout=400,
        )
        assert tour.returncode == 0, tour.stdout + tour.stderr
    assert up.returncode == 0, up.stderr
    report = json.loads(tour.stdout)
    (step,) = report["steps"]
    assert step["step"] == "latency"
    assert step["outcome"] == "recovered"
    details = step["details"]
    assert details["alert"]["alertname"] == "PaymentsLatencyAnomaly"
    assert 'backend="payments/0@' in details["alert"]["series"]
    assert details["alert"]["link"].startswith(
        f"{up.console}/watch/metrics?series=finpilot_router_upstream_seconds_bucket"
    )
    assert details["alert_after_s"] <= details["runbook_after_s"] <= details["recovered_after_s"]
    assert details["runbook_outcome"] == "ok"
    assert details["slowest_request_ms"] < 500
    assert "PaymentsLatencyAnomaly fired" in tour.stderr

    with open_ledger(demo_settings(up.data_dir)) as ledger:
        entries = [e.fields for e in ledger.tail(min(ledger.size, 10_000))]
    restarts = [e for e in entries if e["kind"] == "heal.restart" and e["action"] == "terminate"]
    assert [(e["evidence"]["slot"], e["actor"]) for e in restarts] == [("payments/0", "runbook:latency-anomaly")]
    fired = [e for e in entries if e["kind"] == "watch.alert" and e["action"] == "fire"]
    # One latency alert, on that replica only (the other replica's latency was never anomalous).
    assert [e["subject"].split("@")[0] for e in fired if e["subject"].startswith("replica:")] == ["replica:payments/0"]
