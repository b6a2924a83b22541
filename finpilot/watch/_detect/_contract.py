"""The streaming detector contract that every detector implements, and the anomaly event.

A detector sees one series one point at a time. For each point the caller asks
``score_one(t, x)`` first (the score of the new point given everything learned before it; no
state changes) and then ``learn_one(t, x)``. Scores lie in ``[0, 1]``. Memory is bounded and the
time per point is constant, whatever the length of the stream: the conformance suite in
``tests/watch/detect/`` holds every registered detector to that.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import ClassVar, Protocol


class Detector(Protocol):
    """A streaming anomaly detector for one univariate series."""

    name: ClassVar[str]
    """The registry name (``finpilot watch nab --detector NAME``)."""

    def score_one(self, t: float, x: float) -> float:
        """The anomaly score in [0, 1] of value ``x`` at Unix time ``t``; does not change state."""
        ...

    def learn_one(self, t: float, x: float) -> None:
        """Take the point into the detector's state."""
        ...


@dataclass(frozen=True)
class Anomaly:
    """A point a detector scored at or above its threshold: an event alerts and runbooks act on."""

    series: str
    labels: Mapping[str, str]
    timestamp: float
    value: float
    score: float
    detector: str
    threshold: float
    source: str | None = None
    """The stored series the scored value was computed from, as a selector (a live read's), if any."""
    view: Mapping[str, str] = field(default_factory=dict)
    """How the console computes ``source`` to chart what was scored (kind, window, quantile, by)."""
