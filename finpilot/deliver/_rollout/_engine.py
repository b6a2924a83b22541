"""The rollout state machine: one :meth:`RolloutEngine.tick` at a time, driven by a clock it is given.

Kayenta's model: a **baseline** (fresh replicas of the stable version) and the **canary** (the new
release) start together at the same replica count and always get the same traffic weight, while
the stable replicas serve the rest; the judge compares canary with baseline, never with the
long-running stable pool.

Phases (see :mod:`finpilot.deliver._rollout._record`)::

    starting --arms ready--> progressing --pass, last step--> promoting --> promoted
        |                      |   ^  \\--fail--> rolling-back --> rolled-back (or aborted)
        |                      v   |
        +--not ready----->   paused (operator resumes, promotes or aborts)

Blue-green runs one test step, then switches all traffic to green at once (``switched``), keeps
blue idle for ``blue_green_window_s`` and then finishes like a promotion. Promotion never drops a
request: traffic moves to the canary arm scaled to the stable size, the stable replicas are
replaced with the new version while they get none, traffic moves back, and only then do the arms
stop. Rollback puts the canary's and the baseline's weight to 0 at once, then stops both arms.

Every analysis is a ``deliver.analysis`` audit entry and every action a ``deliver.rollout`` one,
appended before the action takes effect.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from typing import Any

from finpilot.audit import Entry
from finpilot.audit.kinds import DELIVER_ROLLOUT
from finpilot.core import NotFoundError
from finpilot.deliver._judge import JudgeConfig, Judgement, Samples, SampleSet, SampleSource, analysis_entry, judge
from finpilot.deliver._rollout._config import RolloutConfig
from finpilot.deliver._rollout._platform import Platform
from finpilot.deliver._rollout._policy import StepContext, decide
from finpilot.deliver._rollout._record import ActionPoint, AnalysisPoint, Manual, Phase, RolloutRecord
from finpilot.deliver._rollout._store import RolloutStore
from finpilot.heal import ArmSpec

ACTOR = "deliver:rollout"
AuditSink = Callable[[Entry], object]
Judge = Callable[[Samples, Samples, JudgeConfig], Judgement]
Clock = Callable[[], float]
_SOURCE = "local-router"
_METRICS_SOURCE = "rollout:metrics"


def _rfc3339(t: float) -> str:
    return dt.datetime.fromtimestamp(t, tz=dt.UTC).isoformat().replace("+00:00", "Z")


class RolloutEngine:
    """Drives one rollout (see the module docstring); every change is saved to the store."""

    def __init__(
        self,
        record: RolloutRecord,
        platform: Platform,
        store: RolloutStore,
        audit: AuditSink,
        *,
        clock: Clock = time.time,
        judge_fn: Judge = judge,
        samples: SampleSource | None = None,
    ) -> None:
        self.record = record
        # With a source (MetricsSampleSource over Prometheus when watch.prometheus_url is set), the
        # analysis reads both arms through the query API; without one, the router's sample rings.
        self.samples = samples
        self.platform = platform
        self.store = store
        self.audit = audit
        self.clock = clock
        self.judge = judge_fn
        self._decided_by: str | None = None  # the policy behind the automatic action being recorded

    # ------------------------------------------------------------------ bookkeeping
    @property
    def config(self) -> RolloutConfig:
        """The rollout's configuration."""
        return self.record.config

    def record_action(
        self, action: str, actor: str, reason: str, *, verdict: str | None = None, outcome: str = "ok"
    ) -> None:
        """Append a ``deliver.rollout`` entry, then note it in the record."""
        r = self.record
        step = r.step if r.phase in ("progressing", "paused") else None
        self.audit(
            DELIVER_ROLLOUT.entry(
                actor=actor,
                action=action,
                subject=f"release:{r.release}",
                outcome=outcome,
                evidence={
                    "rollout": r.id,
                    "release": r.release,
                    "service": r.service,
                    "strategy": r.config.strategy,
                    "phase": r.phase,
                    "step": step,
                    "weight": r.weight,
                    "reason": reason,
                    "verdict": verdict,
                    "policy": self._decided_by if actor == ACTOR else None,
                },
            )
        )
        now = self.clock()
        r.actions = [
            *r.actions,
            ActionPoint(at=now, action=action, actor=actor, phase=r.phase, weight=r.weight, reason=reason),
        ]
        r.updated_at = now

    def _enter(self, phase: Phase) -> None:
        self.record.phase = phase
        self.record.phase_since = self.clock()
        self.record.sub = 0

    def _shares(self, weight: int) -> None:
        self.record.weight = weight
        self.platform.set_shares(
            self.record.service, {"stable": 100 - 2 * weight, "baseline": weight, "canary": weight}
        )

    # ------------------------------------------------------------------ the loop
    def tick(self) -> RolloutRecord:
        """Take pending manual requests, then advance the phase by at most one move; save."""
        r = self.record
        for action, actor in self.store.take(r.id):
            self.manual(action, actor)
        if not r.terminal:
            getattr(self, "_tick_" + r.phase.replace("-", "_"))()
        self.store.save(r)
        return r

    def _tick_starting(self) -> None:
        r, now = self.record, self.clock()
        status = self.platform.arm_status(r.service)
        if all(
            status.get(a, {}).get("ready", 0) >= status.get(a, {}).get("replicas", 1) for a in ("baseline", "canary")
        ):
            self._enter("progressing")
            r.traffic_since = now
            r.next_analysis_at = now + self.config.analysis_interval_s
            self._shares_step(0, "arms ready: the canary takes traffic")
        elif now - r.phase_since > self.config.ready_timeout_s:
            self.rollback(ACTOR, f"the arms were not ready within {self.config.ready_timeout_s:g} s")

    def _shares_step(self, step: int, reason: str) -> None:
        r = self.record
        r.step = step
        r.extensions = 0
        r.phase_since = self.clock()
        weight = self.config.steps[step].weight
        r.weight = weight
        self.record_action("step", ACTOR, f"{reason}; canary and baseline at {weight}% each")
        self._shares(weight)

    def _tick_progressing(self) -> None:
        r, now = self.record, self.clock()
        if now < r.next_analysis_at:
            return
        r.next_analysis_at = now + self.config.analysis_interval_s
        judgement = self.analyse(now)
        step = self.config.steps[r.step]
        held = now - r.phase_since
        ctx = StepContext(
            time_up=held >= step.pause_s + r.extensions * self.config.policy.extension_s,
            extensions=r.extensions,
            last_step=r.step == len(self.config.steps) - 1 or self.config.strategy == "blue-green",
            failures_before=_failures_in_a_row(r),
        )
        decision = decide(judgement, ctx, self.config.policy)
        self._decided_by = f"{decision.policy_id} {decision.policy_digest}"
        r.analyses = [
            *r.analyses,
            AnalysisPoint(
                at=now,
                step=r.step,
                weight=r.weight,
                verdict=judgement.verdict,
                enough_data=judgement.enough_data,
                reason=judgement.reason,
                baseline_requests=judgement.baseline_requests,
                canary_requests=judgement.canary_requests,
                metrics=[m.model_dump() for m in judgement.metrics],
                action=decision.action,
            ),
        ]
        verdict = judgement.verdict
        if decision.action == "rollback":
            r.verdict_at = now
            self.rollback(ACTOR, decision.reason, verdict=verdict)
        elif decision.action == "pause":
            self.pause(ACTOR, decision.reason, verdict=verdict)
        elif decision.action == "extend":
            r.extensions += 1
            self.record_action("step", ACTOR, decision.reason, verdict=verdict)
        elif decision.action == "advance":
            self._shares_step(r.step + 1, decision.reason)
        elif decision.action == "promote":
            r.verdict_at = now
            self.promote(ACTOR, decision.reason, verdict=verdict)

    def analyse(self, now: float) -> Judgement:
        """Judge the canary against the baseline over the lookback window; audited as ``deliver.analysis``."""
        r = self.record
        start = max(r.traffic_since or now, now - self.config.lookback_s)
        found = self._arms(start, now)
        judgement = self.judge(found.baseline, found.canary, self.config.judge)
        self.audit(
            analysis_entry(
                judgement,
                found,
                self.config.judge,
                actor=ACTOR,
                source=_SOURCE if self.samples is None else _METRICS_SOURCE,
                rollout=r.id,
                release=r.release,
                rollout_step=r.step,
                weight=r.weight,
            )
        )
        return judgement

    def _arms(self, start: float, now: float) -> SampleSet:
        r = self.record
        if self.samples is None:
            groups = self.platform.arm_samples(r.service, since=start)
            baseline = Samples.from_rows(row for row in groups.get("baseline", []) if row[0] < now)
            canary = Samples.from_rows(row for row in groups.get("canary", []) if row[0] < now)
            return SampleSet(baseline, canary, description=f"local router samples of service {r.service}")
        # A window shorter than a second cannot hold two scrapes: it reads as no data yet.
        window = max(now - start, 1.0)
        try:
            return self.samples.samples(r.service, window_s=window)
        except NotFoundError as exc:
            # No requests to either arm in the window is "not enough data" (the policy pauses or
            # waits), exactly as an empty sample ring is on the local path.
            empty = Samples.from_rows([])
            return SampleSet(empty, empty, description=f"no samples: {exc.message}")

    def _tick_paused(self) -> None:
        return

    def _tick_switched(self) -> None:
        r = self.record
        if self.clock() - r.phase_since >= self.config.blue_green_window_s:
            self.record_action("finish", ACTOR, f"blue-green window of {self.config.blue_green_window_s:g} s over")
            self.record.phase = "promoting"
            self.record.sub = _REPLACE_STABLE
            self.record.phase_since = self.clock()

    # ------------------------------------------------------------------ promotion and rollback
    def _tick_promoting(self) -> None:
        r = self.record
        ops = self._promotion_ops()
        while r.sub < len(ops):
            if not ops[r.sub]():
                return
            r.sub += 1
            r.phase_since = self.clock()
        r.phase = "promoted"
        r.outcome_reason = "promoted: the release is the stable version"
        self.record_action("finish", ACTOR, r.outcome_reason)

    def _drained(self) -> bool:
        return self.clock() - self.record.phase_since >= self.config.drain_s

    def _promotion_ops(self) -> list[Callable[[], bool]]:
        r, p = self.record, self.platform
        n = r.stable_replicas

        def ready(group: str, count: int) -> Callable[[], bool]:
            return lambda: p.arm_status(r.service).get(group, {}).get("ready", 0) >= count

        def gone(group: str) -> Callable[[], bool]:
            return lambda: p.arm_status(r.service).get(group, {}).get("running", 0) == 0

        def do(fn: Callable[[], Any]) -> Callable[[], bool]:
            return lambda: fn() is not None or True

        def weight(w: int, shares: dict[str, int]) -> Callable[[], Any]:
            def go() -> None:
                r.weight = w
                p.set_shares(r.service, shares)

            return go

        return [
            # 0: the baseline's traffic back to stable, then the baseline goes; the canary grows to stable's size
            do(weight(r.weight, {"stable": 100 - r.weight, "canary": r.weight})),
            self._drained,
            do(lambda: p.set_arms(r.service, {"canary": ArmSpec(env=r.env, replicas=n)})),
            ready("canary", n),
            # 4: all traffic on the canary
            do(weight(100, {"canary": 100})),
            self._drained,
            # 6 (_REPLACE_STABLE): the idle stable replicas stop, and start again as the new version
            do(
                lambda: p.set_arms(
                    r.service, {"canary": ArmSpec(env=r.env, replicas=n)}, stable=ArmSpec(env=r.env, replicas=0)
                )
            ),
            gone("stable"),
            do(
                lambda: p.set_arms(
                    r.service, {"canary": ArmSpec(env=r.env, replicas=n)}, stable=ArmSpec(env=r.env, replicas=n)
                )
            ),
            ready("stable", n),
            # 10: traffic back to the stable replicas, now the new version; the arms go
            do(weight(0, {"stable": 100})),
            self._drained,
            do(lambda: p.set_arms(r.service, {})),
            do(lambda: p.set_shares(r.service, {})),
        ]

    def _tick_rolling_back(self) -> None:
        r = self.record
        if r.sub == 0:
            if not self._drained():
                return
            self.platform.set_arms(r.service, {})
            r.sub = 1
        if all(v.get("running", 0) == 0 for g, v in self.platform.arm_status(r.service).items() if g != "stable"):
            self.platform.set_shares(r.service, {})
            aborted = any(a.action == "abort" for a in r.actions)
            r.phase = "aborted" if aborted else "rolled-back"
            self.record_action("finish", ACTOR, f"{r.phase}: the stable version serves all traffic")

    def rollback(self, actor: str, reason: str, *, verdict: str | None = None, action: str = "rollback") -> None:
        """Canary and baseline weights to 0 at once (audited first), then drain and stop both arms."""
        r = self.record
        r.weight = 0
        self.record_action(action, actor, reason, verdict=verdict)
        r.outcome_reason = reason
        # Blue-green after its switch: blue still runs at full size, so this is the quick way back.
        self.platform.set_shares(r.service, {"stable": 100})
        self._enter("rolling-back")

    def promote(self, actor: str, reason: str, *, verdict: str | None = None) -> None:
        """Canary: make it stable (see :meth:`_promotion_ops`). Blue-green: switch all traffic to green now."""
        r = self.record
        if self.config.strategy == "blue-green" and r.phase != "switched":
            self.record_action("promote", actor, f"{reason}; all traffic switched to green", verdict=verdict)
            r.weight = 100
            self.platform.set_shares(r.service, {"canary": 100})
            self.platform.set_arms(r.service, {"canary": ArmSpec(env=r.env, replicas=r.stable_replicas)})
            self._enter("switched")
            return
        self.record_action("promote", actor, reason, verdict=verdict)
        start = _REPLACE_STABLE if r.phase == "switched" else 0
        self._enter("promoting")
        r.sub = start

    def pause(self, actor: str, reason: str, *, verdict: str | None = None) -> None:
        """Hold the current weights; no analysis until resumed."""
        r = self.record
        r.resume_phase = r.phase
        self.record_action("pause", actor, reason, verdict=verdict)
        r.phase = "paused"

    def manual(self, action: Manual, actor: str) -> None:
        """Apply an operator's request; one the phase does not allow is recorded as failed and ignored."""
        r = self.record
        allowed = {
            "pause": ("progressing", "starting"),
            "resume": ("paused",),
            "promote": ("progressing", "paused", "switched"),
            "abort": ("starting", "progressing", "paused", "switched", "promoting"),
        }[action]
        if r.phase not in allowed:
            self.record_action(action, actor, f"refused: the rollout is {r.phase}", outcome="failed")
            return
        if r.phase == "promoting" and r.sub >= _REPLACE_STABLE:
            # The stable replicas are being replaced: only the canary arm can serve until they are back.
            self.record_action(
                action, actor, "refused: too late, the stable replicas are being replaced", outcome="failed"
            )
            return
        if action == "pause":
            self.pause(actor, "requested by an operator")
        elif action == "resume":
            self.record_action("resume", actor, "requested by an operator")
            r.phase = r.resume_phase or "progressing"
            r.phase_since = self.clock()
            r.extensions = 0
            r.next_analysis_at = self.clock() + self.config.analysis_interval_s
        elif action == "promote":
            if r.phase == "paused" and r.resume_phase == "starting":
                self.record_action(action, actor, "refused: the arms never became ready", outcome="failed")
                return
            self.promote(actor, "requested by an operator")
        else:
            self.rollback(actor, "aborted by an operator", action="abort")

    def run(
        self,
        *,
        sleep: Callable[[float], None] = time.sleep,
        tick_s: float = 0.2,
        stop: Callable[[], bool] = lambda: False,
    ) -> RolloutRecord:
        """Tick until the rollout is over (or ``stop()`` says so); return the final record."""
        while not self.record.terminal and not stop():
            self.tick()
            if not self.record.terminal:
                sleep(tick_s)
        return self.record


def _failures_in_a_row(record: RolloutRecord) -> int:
    count = 0
    for point in reversed(record.analyses):
        if point.verdict != "fail":
            break
        count += 1
    return count


_REPLACE_STABLE = 6
"""Index of the promotion op that stops the (idle) stable replicas: where blue-green's finish joins in."""
