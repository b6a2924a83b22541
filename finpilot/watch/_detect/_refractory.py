"""A rest period after a firing: one alarm per event, not one per point of it.

NAB, like an on-call engineer, pays for the first detection of an anomaly and charges for every
further one outside its window. A detector that stays high for a whole episode therefore loses
points for being right. After a score at or above ``level`` the next ``rest`` points are reported
as 0 (the state change is made in ``update``, so ``apply`` stays free of side effects).
"""

from __future__ import annotations


class Refractory:
    """Mutes scores for ``rest`` points after one reached ``level``."""

    def __init__(self, level: float, rest: int) -> None:
        if not 0.0 < level <= 1.0 or rest < 0:
            raise ValueError("level must lie in (0, 1] and rest must be >= 0")
        self._level = level
        self._rest = rest
        self._muted_for = 0

    def apply(self, score: float) -> float:
        """The score as reported: 0 while resting, else ``score`` itself."""
        return 0.0 if self._muted_for > 0 else score

    def update(self, score: float) -> None:
        """Advance one point; a reported score at or above the level starts a rest period."""
        if self._muted_for > 0:
            self._muted_for -= 1
        elif score >= self._level:
            self._muted_for = self._rest
