"""Runbooks against a real running local runtime: a looping runbook is stopped by its rate limit
(acceptance 7) while healing goes on, and a simulated full disk taints its node and runs the
shipped disk-pressure runbook.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import yaml
from heal_helpers import PRIVATE_PUBLIC_POOLS, all_ready, entries, payments_service, running, slot_replica, wait_for
from typer.testing import CliRunner

from finpilot.cli import app
from finpilot.heal import RunbookEngine, load_runbooks
from finpilot.heal._api import ControllerApi
from finpilot.heal._runbook._spec import parse_runbook

pytestmark = pytest.mark.slow
EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "heal" / "runbooks"
LIMIT = 3


def _runtime(tmp: Path, replicas: int = 2) -> dict[str, object]:
    return {
        "nodes": [{"name": "n1", "pool": "private"}, {"name": "n2", "pool": "private"}],
        "pools": PRIVATE_PUBLIC_POOLS,
        "services": {"payments": payments_service(tmp / "payments", replicas=replicas)},
    }


LOOP = {
    "name": "restart-loop",
    "description": "Restarts payments/0 whenever it restarts: its own action brings its trigger back.",
    "trigger": {"kind": "heal.restart", "action": "restart", "subject": "^replica:payments/0@"},
    "actions": [{"restart": "{slot}"}],
    "rate_limit": {"max_actions": LIMIT, "window_s": 600, "cooldown_s": 600},
}


def test_a_looping_runbook_is_stopped_by_its_rate_limit_and_healing_goes_on(tmp_path: Path) -> None:
    book = parse_runbook(yaml.safe_dump(LOOP), source="restart-loop.yaml")
    with running(tmp_path, _runtime(tmp_path)) as (controller, ledger):
        wait_for(all_ready(controller, "payments", 2), timeout=60)
        # A replica can pass its probe before its agent has reported the forked pid.
        wait_for(lambda: (r := slot_replica(controller, "payments/0")) and r["pid"], 30)
        engine = RunbookEngine([book], ledger)
        engine.attach(controller, restart_wait_s=30)
        engine.start()
        try:
            controller.chaos_signal("payments/0", "kill")  # the first restart starts the loop
            wait_for(lambda: entries(ledger, "runbook.escalate"), timeout=90, step=0.2)
            wait_for(all_ready(controller, "payments", 2), timeout=60)
            time.sleep(1.0)  # room for a runaway action to show up, if the limit failed
            assert engine.wait_idle(60)

            actions = entries(ledger, "runbook.action")
            assert [a["outcome"] for a in actions] == ["ok"] * LIMIT
            assert {a["evidence"]["target"] for a in actions} == {"restart:payments/0"}
            terminations = [e for e in entries(ledger, "heal.restart") if e["action"] == "terminate"]
            assert len(terminations) == LIMIT
            assert {e["actor"] for e in terminations} == {"runbook:restart-loop"}
            assert {e["evidence"]["signal"] for e in terminations} == {"SIGTERM"}
            limited = entries(ledger, "runbook.rate_limited")
            assert limited
            assert limited[0]["evidence"]["reason"] == "runbook-limit"
            assert limited[0]["evidence"]["count"] == LIMIT == limited[0]["evidence"]["limit"]
            [escalation] = entries(ledger, "runbook.escalate")
            assert "rate limit tripped" in escalation["evidence"]["message"]
            # every run points at the heal.restart entry that started it, by ledger index
            all_entries = entries(ledger)
            for trigger in entries(ledger, "runbook.trigger"):
                index = trigger["evidence"]["trigger"]["index"]
                assert index is not None
                assert all_entries[index]["kind"] == "heal.restart"
                assert all_entries[index]["action"] == "restart"

            # Healing itself goes on: the other replica is killed, restarted and recovers.
            before = len(entries(ledger, "heal.recovered"))
            wait_for(lambda: (r := slot_replica(controller, "payments/1")) and r["ready"] and r["pid"], 30)
            controller.chaos_signal("payments/1", "kill")
            wait_for(
                lambda: any(e["evidence"]["slot"] == "payments/1" for e in entries(ledger, "heal.recovered")[before:]),
                timeout=30,
                step=0.1,
            )
            # And payments/0's next crash is healed by its agent, while the runbook stays stopped.
            wait_for(lambda: (r := slot_replica(controller, "payments/0")) and r["ready"] and r["pid"], 30)
            refused = len(entries(ledger, "runbook.rate_limited"))
            controller.chaos_signal("payments/0", "kill")
            wait_for(lambda: len(entries(ledger, "runbook.rate_limited")) > refused, timeout=30, step=0.1)
            wait_for(all_ready(controller, "payments", 2), timeout=60)
            assert engine.wait_idle(60)
            assert len(entries(ledger, "runbook.action")) == LIMIT
            assert entries(ledger, "runbook.rate_limited")[-1]["evidence"]["reason"] == "cooldown"
            assert len(entries(ledger, "runbook.escalate")) == 1
        finally:
            engine.stop()


def test_disk_full_taints_the_node_and_the_shipped_runbook_prunes_and_pages(tmp_path: Path) -> None:
    state = tmp_path / "state"
    with running(tmp_path, _runtime(tmp_path)) as (controller, ledger):
        api = ControllerApi(controller, state / "runtime")
        api.start()
        engine = RunbookEngine(
            load_runbooks(EXAMPLES),
            ledger,
            run_env={"FINPILOT_DATA_DIR": str(state)},
            run_cwd=tmp_path,
            log_dir=state / "runtime" / "logs",
        )
        engine.attach(controller)
        engine.start()
        try:
            wait_for(all_ready(controller, "payments", 2), timeout=60)
            cli = CliRunner()
            missing = cli.invoke(app, ["--data-dir", str(state), "chaos", "disk-full", "n9"])
            assert missing.exit_code == 2
            assert "no node named 'n9'" in missing.output

            result = cli.invoke(app, ["--data-dir", str(state), "chaos", "disk-full", "n2"])
            assert result.exit_code == 0, result.output
            assert "n2: disk pressure on (DiskPressure)" in result.output
            node = controller.status()["nodes"]["n2"]
            assert node["conditions"] == ["DiskPressure"]
            assert node["cordoned"]
            [inject] = [e for e in entries(ledger, "chaos.inject") if e["action"] == "disk-full"]
            assert inject["actor"].startswith("cli:")
            assert inject["subject"] == "node:n2"
            [pressure] = entries(ledger, "heal.node")
            assert (pressure["action"], pressure["outcome"]) == ("disk-pressure", "DiskPressure")

            # Nothing new lands on n2 while it lasts: a third replica goes to n1.
            spec = controller.runtime.model_dump()
            spec["services"]["payments"]["replicas"] = 3
            controller.apply(type(controller.runtime).model_validate(spec))
            third = wait_for(lambda: slot_replica(controller, "payments/2"), timeout=30)
            assert third["node"] == "n1"

            # The shipped runbook pruned backups (a real `finpilot backup prune`) and paged.
            wait_for(lambda: entries(ledger, "runbook.page"), timeout=120, step=0.2)
            assert engine.wait_idle(60)
            steps = [(a["action"], a["outcome"]) for a in entries(ledger, "runbook.action")]
            assert steps == [("run", "ok"), ("page", "ok")]
            run = entries(ledger, "runbook.action")[0]["evidence"]["detail"]
            assert run["argv"] == ["finpilot", "backup", "prune", "--json"]
            assert run["exit"] == 0
            [page] = entries(ledger, "runbook.page")
            assert page["evidence"]["message"].startswith("DiskPressure on node n2: backups pruned")
            assert entries(ledger, "runbook.escalate") == []

            cleared = cli.invoke(app, ["--data-dir", str(state), "chaos", "disk-full", "n2", "--clear"])
            assert cleared.exit_code == 0
            assert "cleared" in cleared.output
            node = controller.status()["nodes"]["n2"]
            assert node["conditions"] == []
            assert not node["cordoned"]
            assert entries(ledger, "heal.node")[-1]["action"] == "disk-pressure-cleared"
        finally:
            engine.stop()
            api.stop()
