"""The Kubernetes HorizontalPodAutoscaler's algorithm (autoscaling/v2, default behaviour).

As documented for the controller: every sync period (15 s) it reads the metric (here one scrape
old), computes ``desired = ceil(current * metric / target)``, does nothing when the ratio is
within the tolerance (10 %), treats pods without a metric yet (still starting) as using nothing on
a scale-up and exactly the target on a scale-down, keeps the highest recommendation of the last
300 s before scaling down (stabilisation), and scales up by at most ``max(100 %, 4 pods)`` per
15 s. The metric is the offered request rate per pod (a Pods metric), so overload shows in full
rather than saturating like CPU would.
"""

from __future__ import annotations

import math
from collections import deque

from finpilot.watch._scale._model import CapacityModel
from finpilot.watch._scale._policy import Observation


class HpaPolicy:
    """The HPA baseline; ``target_utilization`` is the fraction of a replica's rate it aims at."""

    name = "hpa"

    def __init__(
        self,
        model: CapacityModel,
        target_utilization: float = 0.8,
        tolerance: float = 0.1,
        sync_s: float = 15.0,
        downscale_window_s: float = 300.0,
        up_percent: float = 100.0,
        up_pods: int = 4,
    ) -> None:
        self.model = model
        self.target = model.per_replica * target_utilization
        self.target_utilization = target_utilization
        self.tolerance = tolerance
        self._sync_steps = max(1, round(sync_s / model.step_s))
        self._window = max(1, round(downscale_window_s / model.step_s))
        self._recs: deque[int] = deque(maxlen=self._window)
        self.up_percent, self.up_pods = up_percent, up_pods

    def settings(self) -> dict[str, float | int | str]:
        """The HPA settings, for JSON output."""
        return {
            "target_utilization": self.target_utilization,
            "tolerance": self.tolerance,
            "sync_s": self._sync_steps * self.model.step_s,
            "downscale_stabilization_s": self._window * self.model.step_s,
            "scale_up_limit": f"max({self.up_percent:g}%, {self.up_pods} pods) per sync",
        }

    def recommend(self, seen: Observation) -> int:
        """The replica count the metric asks for, before stabilisation and limits."""
        current = seen.total
        if seen.ready <= 0:
            return current
        ratio = seen.demand / (seen.ready * self.target)
        missing = max(0, current - seen.ready)
        if missing:
            # Pods without a metric yet: nothing on the way up, the target on the way down; then
            # give up when that flips the direction or lands within the tolerance.
            pods = seen.ready + missing
            if ratio > 1:
                adjusted = seen.demand / (pods * self.target)
                if adjusted <= 1 + self.tolerance:
                    return current
            else:
                adjusted = (seen.demand + missing * self.target) / (pods * self.target)
                if adjusted >= 1 - self.tolerance:
                    return current
            return math.ceil(adjusted * pods - 1e-9)
        if abs(ratio - 1) <= self.tolerance:
            return current
        return math.ceil(ratio * seen.ready - 1e-9)

    def decide(self, seen: Observation) -> int:
        """One sync: recommend, stabilise the scale-down, limit the scale-up, clamp."""
        current = seen.total
        if seen.step % self._sync_steps:
            return current
        rec = self.recommend(seen)
        self._recs.append(rec)
        desired = current
        stable_down = max(self._recs)
        if rec > current:
            desired = rec
        elif stable_down < current:
            desired = stable_down
        limit = max(math.floor(current * (1 + self.up_percent / 100)), current + self.up_pods)
        return self.model.clamp(min(desired, limit))
