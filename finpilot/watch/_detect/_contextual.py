"""A contextual novelty detector in the spirit of CAD OSE and k-NN CAD.

Values are quantised into a few levels of the range seen so far; the context of a point is the
sequence of the last one, two, ... ``depth`` levels ending at it. The score is the share of those
contexts that are new: a value outside every level seen, or a familiar value in an unfamiliar
order, is novel; a pattern that has happened before is not, however large. A context seen only a
few times (fewer than ``rarity``) still counts in part, ``1 / (1 + times seen)``, so that the
second occurrence of a strange pattern is not treated as routine. Because the levels
are few and the depth is small, the set of contexts is bounded (at most ``bins + bins**2 + ...``
entries) and each point costs ``depth`` set look-ups.

Unlike CAD OSE on NAB, which is handed each file's minimum and maximum in advance, the range here
is learned online: a new extreme is itself novel, and re-quantises later values.
"""

from __future__ import annotations

import math
from collections import deque
from typing import ClassVar


class ContextualDetector:
    """Share of unseen quantised contexts (orders 1..``depth``) ending at the point."""

    name: ClassVar[str] = "contextual"

    def __init__(self, bins: int = 8, depth: int = 3, rarity: int = 3) -> None:
        if bins < 2 or depth < 1 or rarity < 1:
            raise ValueError("bins >= 2, depth >= 1 and rarity >= 1 are required")
        self._rarity = rarity
        self._bins = bins
        self._depth = depth
        self._lo: float | None = None
        self._hi: float | None = None
        self._recent: deque[int] = deque(maxlen=depth)
        self._seen: dict[tuple[int, ...], int] = {}
        # The contexts score_one built for its point, reused by learn_one of the same point.
        self._memo: tuple[float, list[tuple[int, ...]]] | None = None

    def _level(self, x: float) -> int:
        lo, hi = self._lo, self._hi
        if lo is None or hi is None:
            return 0
        # Beyond the range seen so far is a level of its own on each side: a new extreme is new.
        if x > hi:
            return self._bins
        if x < lo:
            return -1
        if hi <= lo:
            return 0
        return int((x - lo) / (hi - lo) * (self._bins - 1) + 0.5)

    def _contexts(self, x: float) -> list[tuple[int, ...]]:
        memo = self._memo
        if memo is not None and memo[0] == x:
            return memo[1]
        seq = (*self._recent, self._level(x))[-self._depth :]
        contexts = [seq[-k:] for k in range(1, len(seq) + 1)]
        self._memo = (x, contexts)
        return contexts

    def score_one(self, t: float, x: float) -> float:
        """The share of the point's contexts that are new (rare ones in part); no state changes."""
        if not math.isfinite(x):
            return 0.0  # a gap or a broken reading is skipped, not scored
        contexts = self._contexts(x)
        seen, rarity = self._seen, self._rarity
        novelty = 0.0
        for c in contexts:
            count = seen.get(c, 0)
            if count < rarity:
                novelty += 1.0 / (1 + count)
        return novelty / len(contexts)

    def learn_one(self, t: float, x: float) -> None:
        """Remember the point's contexts and widen the range to include it."""
        if not math.isfinite(x):
            return
        contexts = self._contexts(x)
        self._memo = None
        seen, cap = self._seen, self._rarity
        for c in contexts:
            # Counts stop at the rarity: beyond it a context is simply familiar.
            count = seen.get(c, 0)
            if count < cap:
                seen[c] = count + 1
        self._recent.append(contexts[0][-1])
        if self._lo is None or x < self._lo:
            self._lo = x
        if self._hi is None or x > self._hi:
            self._hi = x
