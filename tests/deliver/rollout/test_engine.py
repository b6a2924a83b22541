"""The rollout state machine on a fake platform and a fake clock: every phase, every manual action."""

from __future__ import annotations

from pathlib import Path

import pytest
from rollout_helpers import AuditList, FakeClock, FakePlatform

from finpilot.core import InputError, NotFoundError
from finpilot.deliver._rollout import RolloutConfig, RolloutEngine, RolloutStore, Step, adopt_rollout, new_rollout
from finpilot.policy import PolicyEngine

CONFIG = RolloutConfig(
    steps=[Step(weight=10, pause_s=20), Step(weight=50, pause_s=20)], analysis_interval_s=5, drain_s=1
)


class Run:
    """A rollout on the fakes."""

    def __init__(self, tmp: Path, config: RolloutConfig = CONFIG, env: dict[str, str] | None = None) -> None:
        self.clock = FakeClock()
        self.platform = FakePlatform()
        self.audit = AuditList()
        self.store = RolloutStore(tmp / "rollouts.db")
        record = new_rollout(
            self.platform,
            self.store,
            self.audit,
            service="payments",
            release="payments-2.0",
            env=env or {"B": "2"},
            config=config,
            clock=self.clock,
        )
        self.engine = RolloutEngine(record, self.platform, self.store, self.audit, clock=self.clock)

    def advance(self, seconds: float, *, errors: int = 0, rate: float = 20.0) -> None:
        """Let ``seconds`` pass in 1 s ticks, both arms serving ``rate`` requests a second."""
        for _ in range(int(seconds)):
            t = self.clock.now
            if self.engine.record.phase == "progressing":
                self.platform.add("baseline", t, t + 1, rate)
                self.platform.add("canary", t, t + 1, rate, error_every=errors)
            self.clock.now += 1
            self.engine.tick()

    @property
    def phase(self) -> str:
        return self.engine.record.phase


def test_a_good_canary_steps_through_and_is_promoted_without_dropping_traffic(tmp_path: Path) -> None:
    run = Run(tmp_path)
    assert run.platform.arms["canary"].env["PAYMENTS_VERSION"] == "payments-2.0"
    assert run.platform.arms["baseline"].env == {}  # a copy of the stable spec, nothing changed
    run.advance(1)
    assert run.phase == "progressing"
    assert run.platform.shares == {"stable": 80, "baseline": 10, "canary": 10}
    run.advance(21)
    assert run.engine.record.step == 1
    assert run.platform.shares == {"stable": 0, "baseline": 50, "canary": 50}
    run.advance(40)
    assert run.phase == "promoted"
    assert run.platform.arms == {}
    assert run.platform.env == {"A": "1", "B": "2", "PAYMENTS_VERSION": "payments-2.0"}
    # The stable replicas were replaced only while the canary arm, at full size, had all the traffic.
    calls = run.platform.calls
    assert calls.index("shares {'canary': 100}") < calls.index("arms ['canary'] stable=0")
    back = len(calls) - 1 - calls[::-1].index("shares {'stable': 100}")
    assert calls.index("arms ['canary'] stable=2") < back
    assert run.audit.actions() == ["start", "step", "step", "promote", "finish"]
    assert len(run.audit.actions("deliver.analysis")) >= 8


def test_a_failing_canary_is_rolled_back_at_once_and_its_arms_removed(tmp_path: Path) -> None:
    run = Run(tmp_path)
    run.advance(12, errors=5)  # 20 % errors
    assert run.phase in ("rolling-back", "rolled-back")
    assert run.engine.record.weight == 0
    assert run.platform.shares in ({"stable": 100}, {})
    run.advance(3)
    assert run.phase == "rolled-back"
    assert run.platform.arms == {}
    assert run.audit.actions()[-2:] == ["rollback", "finish"]
    analysis = [e for e in run.audit.entries if e.kind == "deliver.analysis"][-1]
    assert analysis.outcome == "fail"
    assert analysis.subject == "release:payments-2.0"
    assert analysis.evidence["source"] == "local-router"
    # The rollback names the policy that chose it, by id and source digest (the Rego module in the package).
    rollback = next(e for e in run.audit.entries if e.kind == "deliver.rollout" and e.action == "rollback")
    assert rollback.evidence["policy"] == f"finpilot.rollout {PolicyEngine.load('rollout').digest}"


def test_not_enough_data_pauses_and_an_operator_resumes(tmp_path: Path) -> None:
    run = Run(tmp_path)
    run.advance(25, rate=2)  # 50 requests per arm: below the judge's 100
    assert run.phase == "paused"
    run.advance(30)
    assert run.phase == "paused"  # no analysis while paused
    run.store.request("payments-2.0", "resume", "alice")
    run.advance(1)
    assert run.phase == "progressing"
    assert run.engine.record.actions[-1].actor == "alice"


def test_manual_abort_and_a_refused_request(tmp_path: Path) -> None:
    run = Run(tmp_path)
    run.advance(3)
    run.store.request("payments-2.0", "resume", "bob")  # not paused: refused, recorded
    run.store.request("payments-2.0", "abort", "bob")
    run.advance(4)
    assert run.phase == "aborted"
    rollout = [e for e in run.audit.entries if e.kind == "deliver.rollout"]
    assert ("resume", "failed", "bob") in [(e.action, e.outcome, e.actor) for e in rollout]
    with pytest.raises(NotFoundError):
        run.store.request("payments-2.0", "promote", "bob")


def test_manual_promote_skips_the_remaining_steps(tmp_path: Path) -> None:
    run = Run(tmp_path)
    run.advance(3)
    run.store.request("payments-2.0", "promote", "carol")
    run.advance(10)
    assert run.phase == "promoted"


def test_arms_that_never_get_ready_roll_back(tmp_path: Path) -> None:
    run = Run(tmp_path, RolloutConfig(ready_timeout_s=5))
    run.platform.ready = False
    run.advance(7)
    assert run.phase in ("rolling-back", "rolled-back")
    assert "not ready" in run.engine.record.outcome_reason


def test_blue_green_switches_at_once_keeps_blue_for_its_window_then_finishes(tmp_path: Path) -> None:
    config = RolloutConfig(strategy="blue-green", steps=[Step(weight=10, pause_s=10)], blue_green_window_s=30)
    run = Run(tmp_path, config)
    assert run.platform.arms["canary"].replicas == 2  # green is full size from the start
    run.advance(12)
    assert run.phase == "switched"
    assert run.platform.shares == {"canary": 100}
    assert run.platform.replicas == 2  # blue still there, idle, for a quick rollback
    run.advance(25)
    assert run.phase == "switched"
    run.advance(15)
    assert run.phase == "promoted"


def test_blue_green_abort_in_the_window_goes_straight_back_to_blue(tmp_path: Path) -> None:
    run = Run(tmp_path, RolloutConfig(strategy="blue-green", steps=[Step(weight=10, pause_s=10)]))
    run.advance(12)
    run.store.request("payments-2.0", "abort", "dave")
    run.advance(1)
    assert run.platform.shares == {"stable": 100}
    run.advance(3)
    assert run.phase == "aborted"


def test_one_rollout_per_service_and_checked_release_ids(tmp_path: Path) -> None:
    run = Run(tmp_path)
    with pytest.raises(InputError, match="still"):
        new_rollout(run.platform, run.store, run.audit, service="payments", release="x-1", env={}, config=CONFIG)
    with pytest.raises(InputError) as bad:
        new_rollout(run.platform, run.store, run.audit, service="other", release="-bad id", env={}, config=CONFIG)
    assert bad.value.field == "release"


def test_require_signature_refuses_without_a_verifier_and_uses_one(tmp_path: Path) -> None:
    store, audit, platform = RolloutStore(tmp_path / "r.db"), AuditList(), FakePlatform()
    config = RolloutConfig(require_signature=True)
    with pytest.raises(InputError) as refused:
        new_rollout(platform, store, audit, service="payments", release="r-1", env={}, config=config)
    assert refused.value.field == "require_signature"
    assert audit.actions() == ["refuse"]
    assert platform.arms == {}
    seen: list[str] = []
    new_rollout(
        platform,
        store,
        audit,
        service="payments",
        release="r-2",
        env={},
        config=config,
        verify=lambda release, env: seen.append(release),
    )
    assert seen == ["r-2"]
    assert set(platform.arms) == {"baseline", "canary"}


def test_config_is_checked(tmp_path: Path) -> None:
    bad = tmp_path / "c.yaml"
    bad.write_text("steps: [{weight: 50}, {weight: 10}]\n")
    with pytest.raises(InputError) as err:
        RolloutConfig.load(bad)
    assert err.value.field == "steps"
    bad.write_text("steps: [{weight: 60}]\n")
    with pytest.raises(InputError) as err:
        RolloutConfig.load(bad)
    assert err.value.field == "steps.0.weight"


def test_a_new_loop_takes_over_an_unfinished_rollout_and_applies_what_was_queued(tmp_path: Path) -> None:
    run = Run(tmp_path)
    run.advance(3)
    run.store.request("payments-2.0", "abort", "erin")  # queued while no loop runs
    with pytest.raises(InputError):
        adopt_rollout(run.store, run.audit, service="other", release="payments-2.0")
    assert adopt_rollout(run.store, run.audit, service="payments", release="nope") is None
    record = adopt_rollout(run.store, run.audit, service="payments", release="payments-2.0", clock=run.clock)
    assert record is not None
    engine = RolloutEngine(record, run.platform, run.store, run.audit, clock=run.clock)
    engine.tick()
    run.clock.now += 2
    engine.tick()
    engine.tick()
    assert engine.record.phase == "aborted"
    assert adopt_rollout(run.store, run.audit, service="payments", release="payments-2.0") is None


def test_abort_is_refused_once_the_stable_replicas_are_being_replaced(tmp_path: Path) -> None:
    run = Run(tmp_path)
    run.advance(2)
    run.store.request("payments-2.0", "promote", "frank")
    run.advance(1)
    assert run.phase == "promoting"
    run.engine.record.sub = 7  # stable stopped, waiting for it to come back as the new version
    run.store.request("payments-2.0", "abort", "frank")
    run.engine.tick()
    assert run.engine.record.actions[-1].reason.startswith("refused: too late")
    assert run.phase == "promoting"
