"""Acceptance 3 and drains on real processes: a lost node's replicas move to an allowed node with no failed
request, and a drain never takes a service below its disruption budget.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from heal_helpers import (
    PRIVATE_PUBLIC_POOLS,
    Load,
    all_ready,
    entries,
    payments_service,
    routed,
    running,
    wait_for,
)

from finpilot.heal._runtime._controller import Controller

pytestmark = pytest.mark.slow
NODES = [
    {"name": "n1", "pool": "private", "labels": {"zone": "a"}},
    {"name": "n2", "pool": "private", "labels": {"zone": "b"}},
    {"name": "p1", "pool": "public"},
]


def _placement(controller: Controller, service: str) -> list[tuple[str, bool]]:
    return sorted((r["node"], r["ready"]) for r in controller.status()["replicas"].values() if r["service"] == service)


def test_node_down_moves_its_replicas_to_the_other_private_node_with_no_failed_request(tmp_path: Path) -> None:
    runtime = {
        "nodes": NODES,
        "pools": PRIVATE_PUBLIC_POOLS,
        # retries: 3 lets one request reach every replica of 4, whichever two just died.
        "services": {"payments": payments_service(tmp_path / "payments", replicas=4, router={"port": 0, "retries": 3})},
    }
    with running(tmp_path, runtime) as (controller, ledger):
        wait_for(all_ready(controller, "payments", 4), timeout=60)
        assert _placement(controller, "payments") == [("n1", True)] * 2 + [("n2", True)] * 2
        on_n1 = sorted(r["slot"] for r in controller.status()["replicas"].values() if r["node"] == "n1")
        host, port = controller.status()["services"]["payments"]["router"]
        with Load((host, port), rate=200) as load:
            wait_for(lambda: routed(controller, "payments") >= 100, timeout=30)  # load flows before the fault
            controller.chaos_node_down("n1")
            down = time.monotonic()
            wait_for(lambda: _placement(controller, "payments") == [("n2", True)] * 4, timeout=30)
            moved = time.monotonic() - down
            after = routed(controller, "payments")
            wait_for(lambda: routed(controller, "payments") >= after + 100, timeout=30)  # and on n2 alone
        status = controller.status()
    print(
        f"\nnode-down: 2 replicas serving again on n2 {moved:.3f} s after the node died; "
        f"load {load.rate:.0f} req/s, {load.ok} ok, {len(load.failures)} failed"
    )
    assert load.failures == [], load.failures[:10]
    # Sanity bounds for a loaded 2-core machine (typically ~200 req/s, and moved in ~1 s); the
    # recovery figure itself is measured by bench/heal/bench_drill.py (node_down_recovery_p95).
    assert load.rate >= 50
    assert moved < 10  # the acceptance target, about 9x the measured figure
    assert status["nodes"]["n1"]["status"] == "NotReady"
    node_entries = entries(ledger, "heal.node")
    assert [e["outcome"] for e in node_entries] == ["suspect", "NotReady"]
    assert node_entries[1]["evidence"]["last_heartbeat_age_s"] > 0.9  # 3 missed heartbeats of 0.3 s
    moves = entries(ledger, "heal.reschedule")
    assert sorted(e["evidence"]["slot"] for e in moves) == on_n1
    recovered = [e["evidence"] for e in entries(ledger, "heal.recovered") if e["evidence"]["cause"] == "heal.node"]
    assert sorted(r["slot"] for r in recovered) == on_n1
    assert all(r["node"] == "n2" and r["since_cause_s"] < 10 for r in recovered)
    assert all(e["evidence"]["from_node"] == "n1" and e["evidence"]["node"] == "n2" for e in moves)
    assert [e["kind"] for e in entries(ledger)].index("chaos.inject") < [e["kind"] for e in entries(ledger)].index(
        "heal.node"
    )


def _static(directory: Path, **spec: Any) -> dict[str, Any]:
    # A light stand-in service (the standard library's HTTP server): drains are about placement, not the app.
    return {
        "module": "http.server",
        "args": ["{port}", "--bind", "127.0.0.1", "--directory", str(directory)],
        "probes": {"readiness": {"tcp": True, "interval_s": 0.2, "timeout_s": 0.5}},
        **spec,
    }


def test_drain_moves_replicas_and_never_breaks_the_disruption_budget(tmp_path: Path) -> None:
    runtime = {
        "nodes": NODES,
        "pools": PRIVATE_PUBLIC_POOLS,
        "services": {
            "api": _static(tmp_path, replicas=2, disruption={"min_available": 2}, router={"port": 0}),
            "vault": _static(
                tmp_path, replicas=2, classification="pci", node_selector={"zone": "a"}, disruption={"min_available": 1}
            ),
        },
    }
    with running(tmp_path, runtime) as (controller, ledger):
        wait_for(lambda: all_ready(controller, "api", 2)() and all_ready(controller, "vault", 2)(), timeout=60)
        assert _placement(controller, "api") == [("n1", True), ("n2", True)]
        assert _placement(controller, "vault") == [("n1", True), ("n1", True)]
        lowest = {"api": 2, "vault": 2}
        stop = threading.Event()

        def sample_once() -> None:
            services = controller.status()["services"]
            for name, low in lowest.items():
                lowest[name] = min(low, services[name]["ready"])

        def sample() -> None:
            while not stop.is_set():
                sample_once()
                time.sleep(0.01)  # the sampling cadence, not a wait for anything

        sampler = threading.Thread(target=sample)
        sampler.start()
        try:
            controller.drain("n1")
            wait_for(lambda: (controller.status()["nodes"]["n1"]["drain"] or "").startswith("blocked"), timeout=20)
            # Blocked must stay blocked: two more full passes (run on the controller thread, where
            # every drain decision is taken) must not stop the last vault replica.
            controller.call(controller.reconcile)
            controller.call(controller.reconcile)
        finally:
            stop.set()
            sampler.join()
        sample_once()  # the final, blocked state counts too
        status = controller.status()
    assert lowest == {"api": 2, "vault": 1}  # never below min_available
    assert _placement_of(status, "api") == [("n2", True), ("p1", True)]
    assert _placement_of(status, "vault") == [("n1", True)]  # the last one may not go: the budget needs it
    assert status["nodes"]["n1"]["drain"] == "blocked:vault/1"
    assert status["services"]["vault"]["pending"] == {"vault/0": "no node's pool admits classification 'pci'"} or (
        "unavailable" in status["services"]["vault"]["pending"]["vault/0"]
    )
    steps = [(e["action"], e["subject"]) for e in entries(ledger, "heal.drain")]
    assert steps == [
        ("cordon", "node:n1"),
        ("start-replacement", "replica:api/0"),
        ("stop-old", "replica:api/0"),
        ("stop-unplaceable", "replica:vault/0"),
        ("wait", "replica:vault/1"),
    ]


def _placement_of(status: dict[str, Any], service: str) -> list[tuple[str, bool]]:
    return sorted((r["node"], r["ready"]) for r in status["replicas"].values() if r["service"] == service)


def test_a_paused_node_is_replaced_and_its_leftovers_stopped_when_it_returns(tmp_path: Path) -> None:
    runtime = {
        "nodes": NODES[:2],
        "pools": PRIVATE_PUBLIC_POOLS,
        "services": {"api": _static(tmp_path, replicas=2, disruption={"min_available": 1})},
    }
    with running(tmp_path, runtime) as (controller, ledger):
        wait_for(all_ready(controller, "api", 2), timeout=60)
        # A replica can answer its probe before its agent has reported the forked pid.
        wait_for(lambda: all(r["pid"] is not None for r in controller.status()["replicas"].values()), timeout=20)
        status = controller.status()
        agent = status["nodes"]["n1"]["agent_pid"]
        leftover = next(r["pid"] for r in status["replicas"].values() if r["node"] == "n1")
        os.kill(agent, signal.SIGSTOP)  # a partition: the agent and its replica live on, silent
        try:
            wait_for(lambda: _placement(controller, "api") == [("n2", True), ("n2", True)], timeout=15)
        finally:
            os.kill(agent, signal.SIGCONT)
        wait_for(lambda: controller.status()["nodes"]["n1"]["status"] == "Ready", timeout=10)
        stopped = wait_for(lambda: entries(ledger, "heal.stop"), timeout=10)
        wait_for(lambda: not _alive(leftover), timeout=15)
    assert [e["action"] for e in stopped] == ["stop-orphan"]
    assert stopped[0]["evidence"]["node"] == "n1"
    assert [e["outcome"] for e in entries(ledger, "heal.node")] == ["NotReady", "Ready"]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True
