"""The oracle: knows the whole trace, so it pays the fewest replica-hours with no violation.

A replica that serves step ``s`` must have been asked for by ``s - startup`` and kept since, so at
every step ``t`` at least ``max(needed[t .. t + startup])`` replicas must exist. Asking for exactly
that many is feasible (the replicas it adds are ready by the step that needs them, and the ones it
drops are the newest), so it is the lower bound on replica-hours.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence

from finpilot.watch._scale._model import CapacityModel
from finpilot.watch._scale._policy import Observation


def oracle_targets(demand: Sequence[float], model: CapacityModel) -> list[int]:
    """The oracle's replicas at every step: a forward sliding maximum of the replicas needed."""
    needed = [model.needed(d) for d in demand]
    window = model.startup_steps + 1
    out = [0] * len(needed)
    best: deque[int] = deque()  # indices of a decreasing run of needs, the window's max first
    for i in range(len(needed) - 1, -1, -1):
        while best and needed[best[-1]] <= needed[i]:
            best.pop()
        best.append(i)
        while best[0] >= i + window:
            best.popleft()
        out[i] = model.clamp(needed[best[0]])
    return out


class OraclePolicy:
    """Replays :func:`oracle_targets` (it ignores what it observes: it already knows)."""

    name = "oracle"

    def __init__(self, demand: Sequence[float], model: CapacityModel) -> None:
        self.targets = oracle_targets(demand, model)

    def decide(self, seen: Observation) -> int:
        """The precomputed target of this step."""
        return self.targets[seen.step]
