"""Kind of the anomaly detectors: one point of one series scored at or above its detector's threshold."""

from __future__ import annotations

from pydantic import Field

from finpilot.audit._kind import KINDS, EntryKind, Evidence


class WatchAnomalyEvidence(Evidence):
    """Which detector flagged which point of which series, and by how much."""

    detector: str = Field(description="The detector's registry name.")
    series: str = Field(description="The series, as a PromQL selector.")
    labels: dict[str, str] = Field(default_factory=dict)
    timestamp: float = Field(description="The point's time, Unix seconds.")
    value: float
    score: float = Field(description="The detector's score in [0, 1].")
    threshold: float = Field(description="The score at or above which a point is an anomaly.")
    service: str | None = Field(default=None, description="The labels' service, for runbooks.")
    replica: str | None = Field(default=None, description="The labels' replica, for runbooks.")


WATCH_ANOMALY = KINDS.declare(
    EntryKind(
        name="watch.anomaly",
        version=1,
        meaning="A streaming detector scored a point of a series at or above its threshold.",
        evidence=WatchAnomalyEvidence,
        actors=("watch:*",),
        actions=("detect",),
        subjects=("series:*", "replica:*"),
        outcomes=("anomaly",),
    )
)
