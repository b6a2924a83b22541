"""Acceptance 1 and 2 on real processes: a killed replica serves again fast with no failed client request,
and a hung replica is caught by its liveness probe and replaced.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from heal_helpers import (
    PRIVATE_PUBLIC_POOLS,
    Load,
    all_ready,
    entries,
    payments_service,
    quantiles,
    running,
    serves,
    serves_through,
    slot_replica,
    wait_for,
)

from finpilot.audit import Ledger
from finpilot.heal._runtime._controller import Controller

pytestmark = pytest.mark.slow
TRIALS = 20


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Controller, Ledger]]:
    tmp = tmp_path_factory.mktemp("crash")
    runtime = {
        "nodes": [{"name": "n1", "pool": "private"}, {"name": "n2", "pool": "private"}],
        "pools": PRIVATE_PUBLIC_POOLS,
        "services": {"payments": payments_service(tmp / "payments")},
    }
    with running(tmp, runtime) as (controller, ledger):
        wait_for(all_ready(controller, "payments", 2), timeout=60)
        yield controller, ledger


def test_killed_replica_serves_again_within_a_second_with_no_failed_request(
    stack: tuple[Controller, Ledger],
) -> None:
    controller, ledger = stack
    router = tuple(controller.status()["services"]["payments"]["router"])
    recovery: list[float] = []
    with Load((router[0], router[1]), rate=200) as load:
        for _ in range(TRIALS):
            replica = wait_for(
                lambda: (r := slot_replica(controller, "payments/0")) and r["ready"] and r["pid"] and r, 10
            )
            # Kept: time must pass for a time-based feature. Healthy past reset_after_s (0.5 s), each
            # kill is a first crash, not a crash loop; the agent times that on its own clock.
            time.sleep(0.6)
            controller.chaos_signal("payments/0", "kill")
            killed = time.monotonic()
            wait_for(lambda port=replica["port"]: serves(port), timeout=10, step=0.005)
            recovery.append(time.monotonic() - killed)
        wait_for(all_ready(controller, "payments", 2), timeout=10)

    figures = quantiles(recovery)
    print(
        f"\ncrash recovery over {TRIALS} trials: {figures}; load {load.rate:.0f} req/s, "
        f"{load.ok} ok, {len(load.failures)} failed"
    )
    assert load.failures == [], load.failures[:10]
    # Sanity bounds only, for a loaded 2-core machine: the generator ran (it aims at 200 req/s), and
    # recovery took seconds at most. The < 1 s target is a benchmark's claim: bench/heal/bench_drill.py
    # measures it (kill_recovery_p95, 0.52 s in docs/benchmarks.md).
    assert load.rate >= 50
    assert figures["p95"] < 5.0
    restarts = [e for e in entries(ledger, "heal.restart") if e["action"] == "restart"]
    injected = [e for e in entries(ledger, "chaos.inject") if e["action"] == "kill"]
    assert len(injected) == TRIALS
    assert len(restarts) >= TRIALS
    assert all(e["evidence"]["signal"] == 9 for e in restarts)
    # Each outage closes with a heal.recovered entry measured from its first restart event.
    recovered = [e["evidence"] for e in entries(ledger, "heal.recovered") if e["evidence"]["cause"] == "heal.restart"]
    assert len(recovered) >= TRIALS
    assert all(r["slot"] == "payments/0" and 0 < r["since_cause_s"] < 10 for r in recovered)


def test_hung_replica_is_detected_by_liveness_and_replaced(stack: tuple[Controller, Ledger]) -> None:
    controller, ledger = stack
    before = wait_for(lambda: (r := slot_replica(controller, "payments/1")) and r["ready"] and r["pid"] and r, 10)
    controller.chaos_signal("payments/1", "hang")
    hung = time.monotonic()
    wait_for(
        lambda: (r := slot_replica(controller, "payments/1")) and r["ready"] and r["pid"] not in (None, before["pid"]),
        timeout=30,
    )
    replaced = time.monotonic() - hung
    detection = [e for e in entries(ledger, "heal.restart") if e["action"] == "kill-and-replace"][-1]["evidence"]
    budget = detection["period_s"] * detection["failure_threshold"]
    print(
        f"\nhang: replaced (serving) {replaced:.3f} s after SIGSTOP; probe failures {detection['failures']} over "
        f"{detection['first_failure_to_detection_s']} s; configured period x threshold = {budget:.2f} s "
        f"(+ timeout {detection['timeout_s']} s per probe)"
    )
    assert detection["probe"] == "liveness"
    assert detection["failures"] == 3
    # Detection needs threshold failed probes, each started a period after the last and taking up to its
    # timeout: at most (threshold + 1) x max(period, timeout) = 2 s here; then a restart. Measured: ~1.7 s
    # to detect, ~2.3 s to replace (bench/heal/bench_drill.py, the hang fault). The bounds are sanity
    # bounds with room for a loaded 2-core machine, not the figure.
    worst = (detection["failure_threshold"] + 1) * max(detection["period_s"], detection["timeout_s"])
    assert detection["first_failure_to_detection_s"] < 3 * worst
    assert replaced < 5 * worst
    assert serves(before["port"])


def test_latency_injection_slows_the_router_and_is_audited(stack: tuple[Controller, Ledger]) -> None:
    controller, ledger = stack
    wait_for(all_ready(controller, "payments", 2), timeout=10)
    host, port = controller.status()["services"]["payments"]["router"]

    def timed_get() -> float:
        started = time.monotonic()
        assert serves_through(host, port)
        return time.monotonic() - started

    controller.chaos_latency("payments", 300)
    try:
        slow = [timed_get() for _ in range(3)]
    finally:
        controller.chaos_latency("payments", 0)
    assert min(slow) >= 0.3
    injected = [e for e in entries(ledger, "chaos.inject") if e["action"] == "latency"]
    assert [e["evidence"]["ms"] for e in injected] == [300, 0]
    assert len(injected[0]["evidence"]["instances"]) == 2
