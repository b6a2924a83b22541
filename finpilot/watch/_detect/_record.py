"""How a raw score compares with the largest this stream has produced lately.

A z-score of 8 is routine on a spiky series and unheard of on a smooth one, so one threshold for
every series (what NAB allows, and what an alerting rule wants) cannot be set on raw scores.
Dividing by the stream's own recent record puts them on one scale: about 1 is as unusual as the
worst seen lately, 3 is three times worse. The record decays (a half-life in points), so an
old extreme does not mask a new anomaly for ever; a floor keeps a very quiet stream from calling
its first small wobble a record.
"""

from __future__ import annotations


class RecordRatio:
    """``raw / max(recent record, floor)``, 0 during the first ``warmup`` updates."""

    def __init__(self, half_life: float = 5_000.0, floor: float = 3.0, warmup: int = 100) -> None:
        if half_life <= 0.0 or floor <= 0.0 or warmup < 0:
            raise ValueError("half_life > 0, floor > 0 and warmup >= 0 are required")
        self._decay = 0.5 ** (1.0 / half_life)
        self._floor = floor
        self._warmup = warmup
        self._record = 0.0
        self._seen = 0

    def ratio(self, raw: float) -> float:
        """``raw`` in units of the recent record (no state changes)."""
        if self._seen < self._warmup:
            return 0.0
        return raw / max(self._record, self._floor)

    def update(self, raw: float) -> None:
        """Let the record decay one step, then raise it to ``raw`` if ``raw`` is larger."""
        self._seen += 1
        self._record = max(self._record * self._decay, raw)
