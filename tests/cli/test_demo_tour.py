"""``finpilot demo``: the scripted tour against a running ``finpilot up`` (crash, node loss, database failover)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from cli_helpers import Invoke, finpilot_argv
from up_process import env_for, running_up

from finpilot.audit import open_ledger
from finpilot.core import InputError, NotFoundError, demo_settings
from finpilot.heal import RuntimeClient, build_incidents, state_dir_for

# Generous for a loaded 2-core machine; docs/heal.md has the figures measured on a quieter one.
KILL_BOUND_S = 10.0
NODE_BOUND_S = 20.0


@pytest.mark.slow
def test_the_tour_crashes_a_replica_loses_a_node_and_measures_each_recovery(tmp_path: Path) -> None:
    with running_up(tmp_path, "--traffic-rate", "5") as up:
        tour = subprocess.run(
            [*finpilot_argv(), "--data-dir", str(up.data_dir), "demo", "--part", "heal", "--json", "--timeout", "30"],
            check=False,
            cwd=tmp_path,
            env=env_for(tmp_path),
            capture_output=True,
            text=True,
            timeout=180,
        )
        assert tour.returncode == 0, tour.stdout + tour.stderr
        # node-up only takes a node whose agent is gone and that is NotReady.
        client = RuntimeClient(state_dir_for(up.data_dir))
        with pytest.raises(InputError, match="still has its agent"):
            client.node_up("p1", actor="cli:test")
        with pytest.raises(NotFoundError):
            client.node_up("n9", actor="cli:test")
    assert up.returncode == 0, up.stderr
    report = json.loads(tour.stdout)
    steps = {step["step"]: step for step in report["steps"]}
    assert report["incidents"] == f"{up.console}/incidents"
    assert f"{up.console}/incidents" in tour.stderr  # each step points at the timeline

    kill = steps["kill"]
    assert kill["outcome"] == "recovered"
    assert 0 < kill["serving_again_s"] < KILL_BOUND_S
    assert 0 < kill["healer_s"] < KILL_BOUND_S

    node = steps["node-down"]
    assert node["outcome"] == "recovered"
    assert 0 < node["serving_again_s"] < NODE_BOUND_S
    assert 0 < node["healer_s"] < NODE_BOUND_S
    moved_to = set(node["details"]["placed"].values())
    assert node["target"] not in moved_to
    assert set(node["details"]["pools"].values()) == {"private"}  # pci never lands on the public node
    assert node["details"]["node_back"]["ok"] is True

    # No HA pair was created for this data dir: the step says so instead of failing.
    db = steps["db-failover"]
    assert db["outcome"] == "skipped"
    assert "db init --ha" in db["note"] or "PostgreSQL" in db["note"]

    with open_ledger(demo_settings(up.data_dir)) as ledger:
        stored = list(reversed(ledger.tail(min(ledger.size, 10_000))))
    entries = [e.fields for e in stored]
    injected = {(e["action"], e["subject"]) for e in entries if e["kind"] == "chaos.inject"}
    assert ("kill", "replica:payments/0") in injected
    assert ("node-down", f"node:{node['target']}") in injected
    recovered = [e for e in entries if e["kind"] == "heal.recovered"]
    assert {e["evidence"]["cause"] for e in recovered} >= {"heal.restart", "heal.node"}
    assert any(e["action"] == "restart-agent" and e["subject"] == f"node:{node['target']}" for e in entries)

    # The console's Incidents timeline is built from the same entries: both faults, recovered.
    incidents = {(i.fault, i.subject): i for i in build_incidents(stored)}
    assert incidents[("kill", "replica:payments/0")].status == "recovered"
    assert incidents[("node-down", f"node:{node['target']}")].status == "recovered"


def test_the_tour_says_how_to_start_the_demo_when_none_runs(invoke: Invoke) -> None:
    result = invoke("demo")
    assert result.exit_code == 2
    assert "no `finpilot up` is running" in result.output
    assert "start `finpilot up`" in result.output
