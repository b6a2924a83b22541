"""The interface every simulated scaling policy implements: one decision per step."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class Observation:
    """What a policy may see at a step: the metric one scrape old and its own fleet."""

    step: int
    time: float
    demand: float
    """Requests per second at the previous step (metrics are one scrape old)."""
    ready: int
    """Replicas that were ready at the previous step (the ones that reported the metric)."""
    total: int
    """Replicas asked for now (ready or starting)."""


class Policy(Protocol):
    """A scaling policy: the replicas it wants at each step, given what it can observe."""

    name: str

    def decide(self, seen: Observation) -> int:
        """The replicas (ready and starting) wanted from this step on."""
        ...
