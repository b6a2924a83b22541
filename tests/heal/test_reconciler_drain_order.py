"""A drain meets replicas whose slot just left the spec: they are stopped, never moved, and healing goes on.

The clock stands still, so no pass runs between the calls below unless the test asks for one: the
spec change and the drain land in the same pass, which is the order CI once met by chance (an arm
withdrawn, then its node drained, before any pass) and which killed the controller's thread.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest
from heal_helpers import PRIVATE_PUBLIC_POOLS, wait_for

from finpilot.audit import Entry
from finpilot.core import FakeClock, RuntimeSettings
from finpilot.heal import ArmSpec, Controller

pytestmark = pytest.mark.slow


def _controller(tmp: Path, recorded: list[Entry], replicas: int, clock: FakeClock | None = None) -> Controller:
    web = {
        "module": "http.server",
        "args": ["{port}", "--bind", "127.0.0.1", "--directory", str(tmp)],
        "replicas": replicas,
        "router": {"port": 0},
        # Any count may be scaled to, so the test can take away whichever slot the drain is moving.
        "disruption": {"min_available": 0},
    }
    runtime = RuntimeSettings.model_validate(
        {
            "nodes": [{"name": "n1", "pool": "private"}, {"name": "n2", "pool": "private"}],
            "pools": PRIVATE_PUBLIC_POOLS,
            "services": {"web": web},
        }
    )
    return Controller(runtime, state_dir=tmp / "runtime", audit=recorded.append, clock=(clock or FakeClock()).monotonic)


def _replicas(controller: Controller) -> dict[str, dict[str, Any]]:
    return dict(controller.status()["replicas"])


def test_an_arm_withdrawn_and_its_node_drained_in_one_pass_is_stopped(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    recorded: list[Entry] = []
    controller = _controller(tmp_path, recorded, replicas=1)
    controller.start()
    try:
        controller.set_arms("web", {"canary": ArmSpec(replicas=1)})
        controller.call(controller.reconcile)
        canary = next(v for v in _replicas(controller).values() if v["service"] == "web-canary")
        controller.set_arms("web", {})
        controller.drain(canary["node"], actor="test")
        with caplog.at_level(logging.ERROR, logger="finpilot.heal"):
            controller.call(controller.reconcile)
        assert [r.getMessage() for r in caplog.records] == []
        assert {v["service"] for v in _replicas(controller).values()} == {"web"}
        stops = [e for e in recorded if e.kind == "heal.stop" and e.subject == "replica:web-canary/0"]
        assert [e.action for e in stops] == ["scale-down"]
        assert not any(e.subject == "replica:web-canary/0" for e in recorded if e.kind == "heal.drain")
        # The drain itself goes on with what is still wanted on that node, on a live controller thread.
        node = canary["node"]
        controller.call(controller.reconcile)
        stays = [v for v in _replicas(controller).values() if v["node"] == node and v["role"] == "serving"]
        replacements = [v for v in _replicas(controller).values() if v["role"] == "replacement"]
        if stays:
            assert [v["slot"] for v in replacements] == [stays[0]["slot"]]
        else:
            assert controller.status()["nodes"][node]["drain"] == "drained"
    finally:
        controller.stop()


def test_a_drains_replacement_for_a_slot_scaled_away_is_stopped_too(tmp_path: Path) -> None:
    recorded: list[Entry] = []
    controller = _controller(tmp_path, recorded, replicas=2)
    controller.start()
    try:
        controller.call(controller.reconcile)
        on_n1 = sorted(v["slot"] for v in _replicas(controller).values() if v["node"] == "n1")
        assert on_n1, "placement spreads two replicas over two nodes"
        controller.drain("n1", actor="test")
        controller.call(controller.reconcile)  # starts a replacement on n2 for the first slot on n1
        roles = {iid: v["role"] for iid, v in _replicas(controller).items()}
        assert "replacement" in roles.values()
        moved = next(v["slot"] for v in _replicas(controller).values() if v["role"] == "replacement")
        controller.scale("web", int(moved.split("/")[1]))  # the moving slot leaves the spec
        controller.call(controller.reconcile)
        left = _replicas(controller)
        assert all(v["slot"] != moved for v in left.values()), left
        assert all(v["role"] == "serving" for v in left.values()), left
    finally:
        controller.stop()


def test_a_pass_that_fails_is_logged_and_the_next_pass_still_runs(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    recorded: list[Entry] = []
    clock = FakeClock()
    controller = _controller(tmp_path, recorded, replicas=1, clock=clock)
    calls: list[int] = []
    real = controller._check_nodes

    def broken_once() -> None:
        # The first step of a pass: the failed pass places nothing, so what gets placed is the next one's work.
        calls.append(1)
        if len(calls) == 1:
            raise KeyError("a bug met once")
        real()

    monkeypatch.setattr(controller, "_check_nodes", broken_once)
    controller.start()
    try:
        with caplog.at_level(logging.ERROR, logger="finpilot.heal"):
            wait_for(lambda: len(calls) >= 1, timeout=30)  # start() runs the first pass at once
            assert _replicas(controller) == {}
            clock.advance(controller.runtime.reconcile_interval_s)
            wait_for(lambda: len(calls) >= 2, timeout=30)
        assert any("reconcile pass failed" in r.getMessage() for r in caplog.records)
        # The thread lived on: calls are still answered, and the pass after the failure placed web/0.
        assert {v["slot"] for v in _replicas(controller).values()} == {"web/0"}
    finally:
        controller.stop()
