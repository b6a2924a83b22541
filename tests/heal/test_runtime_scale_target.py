"""The predictive autoscaler's local-runtime target against a real running runtime."""

from __future__ import annotations

from pathlib import Path

import pytest
from heal_helpers import PRIVATE_PUBLIC_POOLS, all_ready, entries, payments_service, running, wait_for

from finpilot.core import NotFoundError
from finpilot.heal import RuntimeScaleTarget

pytestmark = pytest.mark.slow


def test_the_runtime_target_scales_a_running_service_up_and_down(tmp_path: Path) -> None:
    runtime = {
        "nodes": [{"name": "n1", "pool": "private"}],
        "pools": PRIVATE_PUBLIC_POOLS,
        "services": {"payments": payments_service(tmp_path / "payments", replicas=1)},
    }
    with running(tmp_path, runtime) as (controller, ledger):
        target = RuntimeScaleTarget(controller)
        assert target.describe() == "runtime:local"
        wait_for(all_ready(controller, "payments", 1), timeout=30)
        assert target.current("payments") == 1
        target.set_replicas("payments", 3)
        assert target.current("payments") == 3
        wait_for(all_ready(controller, "payments", 3), timeout=60)
        target.set_replicas("payments", 2)
        wait_for(lambda: controller.status()["services"]["payments"]["ready"] == 2, timeout=60)
        applied = entries(ledger, "heal.apply")
        assert [e["evidence"]["services"]["payments"] for e in applied][-2:] == [3, 2]
        with pytest.raises(NotFoundError):
            target.current("nope")
