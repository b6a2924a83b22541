"""The null detector: it never fires. Its NAB score is 0 by definition, a floor for the others."""

from __future__ import annotations

from typing import ClassVar


class NullDetector:
    """Scores every point 0 (NAB's null baseline)."""

    name: ClassVar[str] = "null"

    def score_one(self, t: float, x: float) -> float:
        """Always 0."""
        return 0.0

    def learn_one(self, t: float, x: float) -> None:
        """Learns nothing."""
