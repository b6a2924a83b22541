"""The runbook actions ``runtime up`` wires beyond restart, scale and run: ``rollback`` on a real
running runtime (controller, API and CLI), and ``failover`` on a real PostgreSQL pair, safe beside
the ``db up`` healer; without a pair the failover step fails and escalates, naming db.ha.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest
import yaml
from db_helpers import free_ports, pg_reachable_dir
from heal_helpers import PRIVATE_PUBLIC_POOLS, all_ready, entries, payments_service, running, wait_for
from typer.testing import CliRunner

from finpilot.audit import Entry, Ledger, open_ledger
from finpilot.audit.kinds import DB_HEALER
from finpilot.cli import app
from finpilot.cli._runbook_runtime import RunbookPlan, runbooks_running
from finpilot.core import InputError, NotFoundError, RuntimeSettings, Settings, StorageError
from finpilot.heal import Controller, DbHealer, Pager, PgCluster, RunbookEngine
from finpilot.heal._api import ControllerApi
from finpilot.heal._db._switch import failover_lock, requested_failover
from finpilot.heal._runbook._spec import parse_runbook


def _runtime(tmp: Path) -> dict[str, Any]:
    return {
        "nodes": [{"name": "n1", "pool": "private"}, {"name": "n2", "pool": "private"}],
        "pools": PRIVATE_PUBLIC_POOLS,
        "services": {"payments": payments_service(tmp / "payments", replicas=2)},
    }


def _config(runtime: dict[str, Any], replicas: int) -> str:
    changed = json.loads(json.dumps(runtime))
    changed["services"]["payments"]["replicas"] = replicas
    return yaml.safe_dump({"runtime": changed})


def _serving(controller: Controller) -> int:
    return sum(1 for r in controller.status()["replicas"].values() if r["role"] == "serving")


GUARD = {
    "name": "no-big-payments",
    "description": "Undo any spec change that runs payments on more than 3 replicas.",
    "trigger": {
        "kind": "heal.apply",
        "action": "apply-spec",
        "when": [{"field": "services.payments", "op": "gt", "value": 3}],
    },
    "actions": [{"rollback": "payments"}],
}


@pytest.mark.slow
def test_rollback_goes_back_one_spec_audited_refused_without_history_and_run_by_a_runbook(tmp_path: Path) -> None:
    spec = _runtime(tmp_path)
    state = tmp_path / "state"
    with running(tmp_path, spec) as (controller, ledger):
        api = ControllerApi(controller, state / "runtime")
        api.start()
        engine = RunbookEngine([parse_runbook(yaml.safe_dump(GUARD), source="guard.yaml")], ledger)
        engine.attach(controller)
        engine.start()
        cli = CliRunner()
        try:
            wait_for(all_ready(controller, "payments", 2), timeout=60)
            # Nothing applied yet: refused, nothing recorded, nothing changed.
            with pytest.raises(NotFoundError, match="no previous runtime spec"):
                controller.rollback(actor="cli:test")
            refused = cli.invoke(app, ["--data-dir", str(state), "runtime", "rollback"])
            assert refused.exit_code == 2, refused.output
            assert "no previous runtime spec" in refused.output
            assert entries(ledger, "heal.apply") == []
            assert controller.runtime.services["payments"].replicas == 2

            controller.apply_config(_config(spec, 3))
            wait_for(all_ready(controller, "payments", 3), timeout=60)
            # A rollback naming a service the change did not touch is refused and changes nothing.
            with pytest.raises(InputError, match="did not touch 'ledger'"):
                controller.rollback(actor="cli:test", service="ledger")
            assert controller.runtime.services["payments"].replicas == 3

            result = cli.invoke(app, ["--data-dir", str(state), "runtime", "rollback", "--json"])
            assert result.exit_code == 0, result.output
            done = json.loads(result.output)
            assert done["services_changed"] == ["payments"]
            assert done["services"] == {"payments": 2}
            assert controller.runtime.services["payments"].replicas == 2
            wait_for(lambda: _serving(controller) == 2, timeout=30)
            applied = entries(ledger, "heal.apply")
            assert [e["action"] for e in applied] == ["apply-spec", "rollback"]
            rollback = applied[-1]
            assert rollback["actor"].startswith("cli:")
            assert rollback["evidence"]["from"] != rollback["evidence"]["to"]
            assert len(rollback["evidence"]["to"]) == 64  # a SHA-256, not the spec itself
            # A rollback is not remembered: there is nothing further back now.
            again = cli.invoke(app, ["--data-dir", str(state), "runtime", "rollback"])
            assert again.exit_code == 2, again.output

            # The runbook: a spec with 4 payments replicas is rolled back by itself.
            controller.apply_config(_config(spec, 4))
            wait_for(lambda: any(e["action"] == "rollback" for e in entries(ledger, "heal.apply")[2:]), timeout=30)
            assert engine.wait_idle(30)
            assert controller.runtime.services["payments"].replicas == 2
            [action] = entries(ledger, "runbook.action")
            assert action["outcome"] == "ok"
            assert action["evidence"]["target"] == "rollback:payments"
            assert action["evidence"]["detail"]["services"] == {"payments": 2}
            last = entries(ledger, "heal.apply")[-1]
            assert (last["action"], last["actor"]) == ("rollback", "runbook:no-big-payments")
            # Its own rollback (a heal.apply by a runbook) did not trigger it again.
            assert len(entries(ledger, "runbook.trigger")) == 1
            wait_for(all_ready(controller, "payments", 2), timeout=60)
            wait_for(lambda: _serving(controller) == 2, timeout=30)
        finally:
            engine.stop()
            api.stop()


# ---------------------------------------------------------------------- failover

FAILOVER = {
    "name": "db-failover",
    "trigger": {"kind": "db.healer", "outcome": "error"},
    "actions": [{"failover": "primary"}],
    "rate_limit": {"max_actions": 10, "window_s": 60, "cooldown_s": 0},
}


def _plan(settings: Settings) -> RunbookPlan:
    return RunbookPlan(settings, [parse_runbook(yaml.safe_dump(FAILOVER), source="f.yaml")], Pager(), {}, False)


def _trigger(ledger: Ledger) -> Entry:
    entry = DB_HEALER.entry(
        actor="healer:db", action="check", subject="db:pair", outcome="error", evidence={"error": "connection refused"}
    )
    ledger.append(entry)
    return entry


def _idle_controller(tmp: Path, settings: Settings, ledger: Ledger) -> Controller:
    # runbooks_running only subscribes to it; nothing here needs replicas running.
    runtime = RuntimeSettings.model_validate(_runtime(tmp))
    return Controller(runtime, state_dir=settings.data_dir / "runtime", audit=ledger.append)


def test_without_a_pair_runtime_up_leaves_failover_unregistered_and_it_escalates_naming_db_ha(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "state")
    with open_ledger(settings) as ledger:
        controller = _idle_controller(tmp_path, settings, ledger)
        with runbooks_running(_plan(settings), ledger, controller) as engine:
            engine.offer(_trigger(ledger))
            assert engine.wait_idle(30)
        [action] = entries(ledger, "runbook.action")
        assert action["outcome"] == "failed"
        assert "db.ha" in action["evidence"]["error"]["message"]
        [escalation] = entries(ledger, "runbook.escalate")
        assert "db.ha" in escalation["evidence"]["message"]


def _wait_rejoined(cluster: PgCluster, node: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not cluster.fenced():
            rows = cluster.replication(cluster.primary())
            if [(r["name"], r["state"], r["sync_state"]) for r in rows] == [(node, "streaming", "sync")]:
                return
        time.sleep(0.1)
    raise AssertionError(f"{node} did not rejoin as the synchronous standby: {cluster.status()}")


@pytest.mark.postgres
@pytest.mark.slow
def test_failover_runbook_promotes_the_standby_once_and_the_db_healer_rejoins_the_old_primary(
    tmp_path: Path,
) -> None:
    with pg_reachable_dir() as base:
        primary_port, standby_port = free_ports(2)
        settings = Settings.model_validate(
            {
                "data_dir": str(tmp_path / "state"),
                "db": {
                    "ha": {
                        "base_dir": str(base / "pair"),
                        "primary_port": primary_port,
                        "standby_port": standby_port,
                        "check_interval_s": 0.2,
                        "failure_threshold": 3,
                    }
                },
            }
        )
        cluster = PgCluster(settings.db.ha, base / "pair")
        cluster.init()
        try:
            old, new = cluster.primary().name, cluster.standby().name
            with open_ledger(settings) as ledger:
                # A failover in progress elsewhere holds the lock: both sides refuse rather than interleave.
                with failover_lock(cluster, wait_s=0):
                    with pytest.raises(StorageError, match="in progress"):
                        DbHealer(cluster, ledger).failover()
                    with pytest.raises(StorageError, match="in progress"):
                        requested_failover(cluster, ledger, actor="cli:test", wait_s=0.2)
                assert cluster.primary().name == old

                controller = _idle_controller(tmp_path, settings, ledger)
                with runbooks_running(_plan(settings), ledger, controller) as engine:
                    engine.offer(_trigger(ledger))
                    assert engine.wait_idle(60)
                    assert cluster.primary().name == new
                    assert cluster.probe(cluster.primary()).in_recovery is False
                    # A second trigger before the old primary is back: refused, nothing touched.
                    engine.offer(_trigger(ledger))
                    assert engine.wait_idle(60)
                assert cluster.primary().name == new
                assert cluster.fenced() == {old}
                ok, refused = entries(ledger, "runbook.action")
                assert ok["outcome"] == "ok"
                assert (ok["evidence"]["detail"]["from"], ok["evidence"]["detail"]["to"]) == (old, new)
                assert refused["outcome"] == "failed"
                assert "fenced" in refused["evidence"]["error"]["message"]
                assert len(entries(ledger, "runbook.escalate")) == 1
                for kind in ("db.fence", "db.promote", "db.failover"):
                    [entry] = entries(ledger, kind)
                    assert entry["actor"] == "runbook:db-failover"
                    assert entry["outcome"] == "ok"
                # A stale request naming the old primary does nothing.
                assert requested_failover(cluster, ledger, actor="cli:test", target=old)["done"] is False

                # The db up healer sees the new primary and rejoins the old one; no second failover.
                with DbHealer(cluster, ledger) as healer:
                    _wait_rejoined(cluster, old, timeout=40)
                    assert cluster.primary().name == new
                    assert len(entries(ledger, "db.failover")) == 1
                    # Requested while that healer watches: it neither fails over too nor trips on it.
                    done = requested_failover(cluster, ledger, actor="cli:test")
                    assert (done["from"], done["to"]) == (new, old)
                    _wait_rejoined(cluster, new, timeout=40)
                assert healer.failovers == []
                assert cluster.primary().name == old
                assert len(entries(ledger, "db.failover")) == 2
                assert [e["outcome"] for e in entries(ledger, "db.rejoin")] == ["ok", "ok"]
                assert len(entries(ledger, "db.healer")) == 2  # the two triggers; the healer hit no error
        finally:
            cluster.stop()
