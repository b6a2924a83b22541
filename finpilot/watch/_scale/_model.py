"""The capacity model every autoscaling policy is judged in.

Time moves in fixed steps (15 s). Each replica serves a fixed rate; a replica asked for at step
``t`` is ready at step ``t + startup_steps`` (60 s later) and is paid for from the moment it is
asked for; removing a replica takes effect at once. A step is violated when demand exceeds the
ready capacity, and a violation minute is a wall-clock minute holding any violated step.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from dataclasses import dataclass


@dataclass(frozen=True)
class CapacityModel:
    """The replica capacity model: step, per-replica rate, start-up delay and bounds."""

    step_s: float = 15.0
    """Seconds between two decisions (and two demand samples)."""
    per_replica: float = 10.0
    """Requests per second one ready replica serves."""
    peak_replicas: int = 20
    """A trace is rescaled so that its peak needs exactly this many replicas."""
    startup_s: float = 60.0
    """Seconds from asking for a replica to it being ready."""
    min_replicas: int = 1
    """No policy goes below this many replicas."""
    max_replicas: int = 100
    """No policy goes above this many replicas."""

    @property
    def startup_steps(self) -> int:
        """The start-up delay in whole steps (rounded up: a replica is never ready early)."""
        return math.ceil(self.startup_s / self.step_s - 1e-9)

    def needed(self, demand: float) -> int:
        """The fewest ready replicas that serve ``demand`` (never below ``min_replicas``)."""
        # A tiny tolerance: a demand that equals capacity up to float noise is served.
        return max(self.min_replicas, math.ceil(demand / self.per_replica - 1e-9))

    def clamp(self, replicas: int) -> int:
        """``replicas`` held inside ``[min_replicas, max_replicas]``."""
        return max(self.min_replicas, min(self.max_replicas, replicas))

    def as_dict(self) -> dict[str, float | int]:
        """The model's settings, for JSON output and audit evidence."""
        return {
            "step_s": self.step_s,
            "per_replica_rps": self.per_replica,
            "peak_replicas": self.peak_replicas,
            "startup_s": self.startup_s,
            "min_replicas": self.min_replicas,
            "max_replicas": self.max_replicas,
        }


class Fleet:
    """The replicas of one policy during a simulation: which are ready, which are starting.

    Scale-up asks for new replicas (ready ``startup_steps`` later); scale-down removes the
    newest replicas first, so a replica still starting goes before a ready one.
    """

    def __init__(self, model: CapacityModel, ready: int) -> None:
        self._model = model
        # The step at which each replica becomes ready, oldest first.
        self._ready_at: list[int] = [-model.startup_steps] * ready

    @property
    def total(self) -> int:
        """Replicas that are ready or starting (the requested count)."""
        return len(self._ready_at)

    def ready(self, step: int) -> int:
        """Replicas ready at ``step``."""
        # Replicas are appended in the order they were asked for, so ready-at steps never decrease.
        return bisect_right(self._ready_at, step)

    def set_target(self, step: int, target: int) -> None:
        """Ask for ``target`` replicas in all at ``step``."""
        if target > self.total:
            self._ready_at.extend([step + self._model.startup_steps] * (target - self.total))
        elif target < self.total:
            del self._ready_at[target:]
