"""The live predictive autoscaler: read a load signal, forecast, decide, act, audit.

It runs the same :class:`PredictivePolicy` the simulator judges. Each :meth:`step` (one per
``step_s``, driven by the caller's loop) reads the newest value of the load signal through a
:class:`MetricsQuery`, asks the policy for a replica count and, when it differs from the target's
current count, sets it through a :class:`ScaleTarget` and writes a ``watch.scale`` audit entry
with the forecast as evidence. The entry is written whether the action worked or failed; a
failure is raised after it is recorded.
"""

from __future__ import annotations

import math
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
        self._fed: float | None = None
        self.last: Decision | None = None
        """The newest decision (held or acted on), for the console's forecast chart."""

    def read_load(self, now: float) -> float | None:
        """The newest value of the load signal at ``now`` (None when there is none)."""
        step = self.model.step_s
        series = self.metrics.aggregate("sum", self.signal, now - step, now, step, rate_window=self._rate_window)
        points = [p for s in series for p in s.points if p[0] <= now]
        if not points:
            return None
        return max(points)[1]

    def _grid(self, t: float) -> float:
        step = self.model.step_s
        return math.floor(t / step + 1e-9) * step

    def _history(self, start: float, end: float) -> dict[float, float]:
        """The signal at every grid step in ``[start, end]`` (steps with no value are left out)."""
        step = self.model.step_s
        series = self.metrics.aggregate("sum", self.signal, start, end, step, rate_window=self._rate_window)
        found: dict[float, float] = {}
        for s in series:
            for t, y in s.points:
                if math.isfinite(y):
                    found[self._grid(t + step / 2)] = found.get(self._grid(t + step / 2), 0.0) + y
        return found

    def _feed(self, start: float, end: float) -> int:
        """Feed the forecaster the signal at every grid step in ``[start, end]``, in order.

        A step with no value repeats the last one: the seasonal forecaster counts steps, so a
        scrape gap must not shift the season.
        """
        step = self.model.step_s
        values = self._history(start, end)
        fed, last = 0, None
        t = start
        while t <= end + 1e-9:
            y = values.get(t, last)
            if y is not None:
                self.policy.forecaster.update(t, y)
                fed += 1
                last = y
            t = round(t + step, 6)
        return fed

    def warm(self, now: float | None = None, span_s: float = 0.0) -> int:
        """Teach the forecaster the signal's history over ``span_s`` before ``now``; the steps fed.

        This is how it learns the daily pattern (a surge at market open) from the metrics store
        rather than from anyone's schedule: give it a few seasons of history.
        """
        now = self._clock() if now is None else now
        end = self._grid(now) - self.model.step_s
        start = self._grid(end - span_s)
        fed = self._feed(start, end) if span_s > 0 else 0
        self._fed = end
        return fed

    def step(self, now: float | None = None) -> ScaleAction | None:
        """One decision; the action taken, or None when nothing changed or no load was seen.

        Decisions sit on a grid of ``model.step_s``; steps the caller missed (a late loop on a
        busy machine) are fed to the forecaster from the store first, so its season stays aligned.
        """
        now = self._clock() if now is None else now
        at = self._grid(now)
        if self._fed is not None and at <= self._fed:
            return None
        if self._fed is not None and at - self._fed > self.model.step_s * 1.5:
            self._feed(self._fed + self.model.step_s, at - self.model.step_s)
        load = self.read_load(now)
        if load is None:
            # No signal (a scrape gap): hold rather than scale on a guess.
            return None
        self._fed = at
        current = self.target.current(self.service)
        decision = self.policy.plan(Observation(self._steps, at + self.model.step_s, load, current, current))
        self._steps += 1
        self.last = decision
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
                "points": [
                    {"t": t, "mean": mean, "lower": lo, "upper": hi}
                    for t, mean, lo, hi in zip(fc.timestamps, fc.mean, fc.lower, fc.upper, strict=True)
                ],
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
