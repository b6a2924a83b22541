"""The live predictive autoscaler: read a load signal, forecast, decide, act, audit.

It runs the same :class:`PredictivePolicy` the simulator judges. Each :meth:`step` (one per
``step_s``, driven by the caller's loop) reads the newest value of the load signal through a
:class:`MetricsQuery`, asks the policy for a replica count and, when it differs from the target's
current count, sets it through a :class:`ScaleTarget` and writes a ``watch.scale`` audit entry
with the forecast as evidence. The entry is written whether the action worked or failed; a
failure is raised after it is recorded.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from finpilot.audit import Entry
from finpilot.audit.kinds import WATCH_SCALE
from finpilot.core import FinpilotError
from finpilot.watch._metrics._types import MetricsQuery
from finpilot.watch._scale._model import CapacityModel
from finpilot.watch._scale._policy import Observation
from finpilot.watch._scale._predictive import Decision, PredictivePolicy, PredictiveSettings

ACTOR = "finpilot:autoscaler"
"""The audit actor of every scaling action."""


class ScaleTarget(Protocol):
    """Where the autoscaler acts: the local runtime, a Kubernetes workload, a fake in tests."""

    def describe(self) -> str:
        """Where it acts, for evidence (``runtime:<name>``, ``k8s:<namespace>/<kind>/<name>``)."""
        ...

    def current(self, service: str) -> int:
        """The replicas the service is set to now."""
        ...

    def set_replicas(self, service: str, replicas: int) -> None:
        """Set the service's replicas (raise a :class:`FinpilotError` when refused)."""
        ...


@dataclass(frozen=True)
class ScaleAction:
    """One scaling action as taken (and audited)."""

    service: str
    from_replicas: int
    to_replicas: int
    reason: str
    observed: float
    outcome: str
    """``ok`` or ``failed``."""
    decision: Decision


class PredictiveAutoscaler:
    """Scale one service ahead of its forecast load (see the module docstring).

    ``signal`` is a selector of a counter (its ``sum(rate(...[rate_window]))`` is the load) or,
    with ``rate_window=None``, of a gauge summed as is. ``model.per_replica`` is the load one
    replica serves, in the signal's units.
    """

    def __init__(
        self,
        metrics: MetricsQuery,
        target: ScaleTarget,
        service: str,
        signal: str,
        *,
        model: CapacityModel | None = None,
        settings: PredictiveSettings | None = None,
        audit: Callable[[Entry], object] | None = None,
        clock: Callable[[], float] = time.time,
        rate_window: float | None = 60.0,
    ) -> None:
        self.metrics = metrics
        self.target = target
        self.service = service
        self.signal = signal
        self.model = model or CapacityModel()
        self.policy = PredictivePolicy(self.model, settings)
        self._audit = audit
        self._clock = clock
        self._rate_window = rate_window
        self._steps = 0

    def read_load(self, now: float) -> float | None:
        """The newest value of the load signal at ``now`` (None when there is none)."""
        step = self.model.step_s
        series = self.metrics.aggregate("sum", self.signal, now - step, now, step, rate_window=self._rate_window)
        points = [p for s in series for p in s.points if p[0] <= now]
        if not points:
            return None
        return max(points)[1]

    def step(self, now: float | None = None) -> ScaleAction | None:
        """One decision; the action taken, or None when nothing changed or no load was seen."""
        now = self._clock() if now is None else now
        load = self.read_load(now)
        if load is None:
            # No signal (a scrape gap): hold rather than scale on a guess.
            return None
        current = self.target.current(self.service)
        decision = self.policy.plan(Observation(self._steps, now, load, current, current))
        self._steps += 1
        if decision.target == current:
            return None
        outcome, error = "ok", None
        try:
            self.target.set_replicas(self.service, decision.target)
        except FinpilotError as exc:
            outcome, error = "failed", exc
        action = ScaleAction(self.service, current, decision.target, decision.reason, load, outcome, decision)
        self._record(action)
        if error is not None:
            raise error
        return action

    def _record(self, action: ScaleAction) -> None:
        if self._audit is None:
            return
        fc = action.decision.forecast
        m, s = self.model, self.policy.settings
        evidence = {
            "service": action.service,
            "target": self.target.describe(),
            "from_replicas": action.from_replicas,
            "to_replicas": action.to_replicas,
            "reason": action.reason,
            "observed": action.observed,
            "signal": f"{self.signal} from {self.metrics.describe()}",
            "forecast": {
                "model": fc.model,
                "horizon_s": action.decision.horizon * m.step_s,
                "level": fc.level,
                "mean_max": max(fc.mean),
                "upper_max": max(fc.upper),
            },
            "policy": {
                "min_replicas": m.min_replicas,
                "max_replicas": m.max_replicas,
                "per_replica": m.per_replica,
                "startup_s": m.startup_s,
                "down_window_s": s.down_window_s,
                "up_cooldown_s": s.up_cooldown_s,
            },
        }
        self._audit(
            WATCH_SCALE.entry(
                actor=ACTOR,
                action="scale",
                subject=f"service:{action.service}",
                outcome=action.outcome,
                evidence=evidence,
            )
        )
