"""The reconciler on an injected clock: the heartbeat rule decided by the clock a test holds, with no sleep.

The node agent is a real process; only time is fake. Heartbeat ages and reconcile passes are read
from :class:`~finpilot.core.FakeClock`, so the boundary of "late" is checked exactly.
"""

from __future__ import annotations

import os
import signal
from pathlib import Path

from heal_helpers import PRIVATE_PUBLIC_POOLS, wait_for

from finpilot.audit import Entry
from finpilot.core import FakeClock, RuntimeSettings
from finpilot.heal import Controller


def test_a_node_turns_not_ready_only_when_its_heartbeats_are_late_on_the_injected_clock(tmp_path: Path) -> None:
    clock = FakeClock()
    # 4 misses of 0.25 s: a limit of exactly 1.0 s, so the boundary is not blurred by float rounding.
    runtime = RuntimeSettings.model_validate(
        {
            "nodes": [{"name": "n1", "pool": "private"}],
            "pools": PRIVATE_PUBLIC_POOLS,
            "heartbeat_interval_s": 0.25,
            "heartbeat_misses": 4,
        }
    )
    recorded: list[Entry] = []
    controller = Controller(runtime, state_dir=tmp_path / "runtime", audit=recorded.append, clock=clock.monotonic)
    controller.start()
    try:

        def node_entries() -> list[tuple[str, str]]:
            return [(e.action, e.outcome) for e in recorded if e.kind == "heal.node"]

        os.killpg(controller.status()["nodes"]["n1"]["agent_pid"], signal.SIGKILL)
        # The agent's closed pipe is read after every heartbeat it sent, so once its exit is
        # recorded the last heartbeat is final: it came at clock 0, which has not moved.
        wait_for(lambda: node_entries() == [("stop-routing", "suspect")], timeout=30)
        assert controller.status()["nodes"]["n1"]["heartbeat_age_s"] == 0

        clock.advance(1.0)  # exactly heartbeat_misses x heartbeat_interval_s: late is "more than"
        controller.call(controller.reconcile)
        status = controller.status()["nodes"]["n1"]
        assert (status["status"], status["heartbeat_age_s"]) == ("Ready", 1.0)
        assert node_entries() == [("stop-routing", "suspect")]

        clock.advance(0.5)
        # No explicit pass: the loop schedules its own passes on the same clock and runs one now.
        wait_for(lambda: controller.status()["nodes"]["n1"]["status"] == "NotReady", timeout=30)
        assert node_entries() == [("stop-routing", "suspect"), ("mark-not-ready", "NotReady")]
        late = next(e for e in recorded if e.action == "mark-not-ready")
        assert late.evidence["last_heartbeat_age_s"] == 1.5
        assert (late.evidence["heartbeat_period_s"], late.evidence["misses"]) == (0.25, 4)
    finally:
        controller.stop()
