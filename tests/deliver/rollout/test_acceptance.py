"""Acceptance 3 on the local runtime at 50 requests a second: bad releases roll back, a good one is promoted.

Each test runs the demo stack (payments, 2 replicas behind the router), open-loop payment traffic
in its own process (every request with its own Idempotency-Key, no resend), and one rollout with the
default analysis timing. Afterwards the client's answers are compared with the payments database:
every 2xx has exactly one record, every failure none, and nothing is recorded twice. The time from
the canary taking traffic to the deciding verdict is printed (``-s`` shows it) and bounded.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import pytest
from rollout_helpers import RATE, Stack, demo_stack, entries

from finpilot.deliver._rollout import ActionPolicy, RolloutConfig, RolloutEngine, RolloutRecord, Step, new_rollout
from finpilot.heal._chaos._ledger import check_payments
from finpilot.heal._chaos._traffic import TrafficRun

pytestmark = pytest.mark.slow
# Two failed analyses in a row before a rollback: on 2 cores shared with other jobs (and one SQLite file
# shared by every replica), one arm now and then has a burst of slow requests that one window would
# take for a regression. 40 % rather than 50 % at the second step keeps a single replica per arm below
# 20 requests a second.
FAST = RolloutConfig(
    steps=[Step(weight=25, pause_s=15), Step(weight=40, pause_s=15)], policy=ActionPolicy(failure_limit=2)
)


def _rollout(stack: Stack, tmp: Path, release: str, env: dict[str, str], config: RolloutConfig) -> RolloutRecord:
    traffic = TrafficRun(stack.address, rate=RATE, run=release, out=tmp / "traffic.jsonl", token_file=stack.token_file)
    traffic.start()
    try:
        time.sleep(2.0)
        record = new_rollout(
            stack.platform,
            stack.store,
            stack.ledger.append,
            service="payments",
            release=release,
            env=env,
            config=config,
        )
        engine = RolloutEngine(record, stack.platform, stack.store, stack.ledger.append)
        deadline = time.monotonic() + 120
        record = engine.run(stop=lambda: time.monotonic() > deadline)
        time.sleep(1.0)
    except BaseException:
        traffic.kill()
        raise
    records = traffic.stop()
    check = check_payments(stack.payments_db, records)
    report = check.to_json()
    print(json.dumps({"release": release, "phase": record.phase, "time_to_verdict_s": _to_verdict(record), **report}))
    assert report["requests"] >= RATE * 10
    assert report["lost"] == 0
    assert report["duplicated"] == 0
    assert report["committed_unacked"] == 0
    return record


def _to_verdict(record: RolloutRecord) -> float | None:
    if record.verdict_at is None or record.traffic_since is None:
        return None
    return round(record.verdict_at - record.traffic_since, 2)


def _stable_p99(stack: Stack, seconds: float) -> float:
    rows = stack.platform.arm_samples("payments", since=time.time() - seconds).get("stable", [])
    return float(np.quantile([r[1] for r in rows], 0.99))


def test_a_release_with_five_points_more_errors_is_rolled_back_within_60_s(tmp_path: Path) -> None:
    with demo_stack(tmp_path) as stack:
        record = _rollout(stack, tmp_path, "payments-bad-errors", {"PAYMENTS_FAULT_ERROR_RATE": "0.05"}, FAST)
        assert record.phase == "rolled-back", record.outcome_reason
        assert (_to_verdict(record) or 99) <= 60
        assert stack.controller.arm_status("payments").keys() == {"stable"}
        failed = [e for e in entries(stack.ledger, "deliver.analysis") if e["outcome"] == "fail"]
        assert failed
        assert failed[-1]["evidence"]["metrics"][0]["name"] == "error_rate"
        assert [e["action"] for e in entries(stack.ledger, "deliver.rollout")][-2:] == ["rollback", "finish"]


def test_a_release_with_twice_the_p99_latency_is_rolled_back_within_60_s(tmp_path: Path) -> None:
    with demo_stack(tmp_path) as stack:
        # Warm the stable replicas, then slow every request of the release by the stable p99: its p99 doubles.
        wait = TrafficRun(
            stack.address, rate=RATE, run="warm", out=tmp_path / "warm.jsonl", token_file=stack.token_file
        )
        wait.start()
        time.sleep(3.0)
        p99 = max(5.0, _stable_p99(stack, 2.5))
        wait.stop()
        env = {"PAYMENTS_FAULT_SLOW_RATE": "1", "PAYMENTS_FAULT_SLOW_MS": f"{p99:.0f}"}
        record = _rollout(stack, tmp_path, "payments-bad-latency", env, FAST)
        assert record.phase == "rolled-back", record.outcome_reason
        assert (_to_verdict(record) or 99) <= 60
        last = record.analyses[-1]
        latency = next(m for m in last.metrics if m["name"].startswith("latency"))
        assert latency["outcome"] == "fail"


def test_a_good_release_is_promoted_with_no_payment_lost_or_doubled(tmp_path: Path) -> None:
    with demo_stack(tmp_path) as stack:
        record = _rollout(stack, tmp_path, "payments-good", {}, FAST)
        assert record.phase == "promoted", record.outcome_reason
        status = stack.controller.arm_status("payments")
        assert status == {"stable": {"replicas": 2, "running": 2, "ready": 2}}
        assert stack.controller.runtime.services["payments"].env["PAYMENTS_VERSION"] == "payments-good"
