"""Token buckets by key (a client's address, say): a steady rate with room for a burst.

A bucket holds up to ``burst`` tokens and regains ``rate_per_s`` a second. :meth:`TokenBuckets.take`
spends one; :meth:`TokenBuckets.wait_s` says how long until one is there, without spending.
Only keys that spent something are kept: a full bucket is the same as none, so full ones are
dropped when the table reaches ``max_keys`` (and the oldest key after them), and many
well-behaved clients cost no memory.
"""

from __future__ import annotations

import threading
import time

from finpilot.core._clock import MonotonicClock
from finpilot.core._errors import InputError


class TokenBuckets:
    """One token bucket per key, all with the same rate and burst; thread-safe."""

    def __init__(
        self, rate_per_s: float, burst: int, *, clock: MonotonicClock = time.monotonic, max_keys: int = 10_000
    ) -> None:
        if rate_per_s <= 0 or burst < 1 or max_keys < 1:
            raise InputError("a token bucket needs rate_per_s > 0, burst >= 1 and max_keys >= 1", field="rate_per_s")
        self.rate_per_s = rate_per_s
        self.burst = burst
        self.max_keys = max_keys
        self._clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}  # key -> (tokens, when counted)
        self._lock = threading.Lock()

    def _level(self, key: str, now: float) -> float:
        found = self._buckets.get(key)
        if found is None:
            return float(self.burst)
        tokens, then = found
        return min(float(self.burst), tokens + (now - then) * self.rate_per_s)

    def wait_s(self, key: str) -> float:
        """Seconds until ``key`` has a whole token; 0.0 when it has one now."""
        if key not in self._buckets:  # the common case, answered without the lock or the clock
            return 0.0
        with self._lock:
            level = self._level(key, self._clock())
        return 0.0 if level >= 1.0 else (1.0 - level) / self.rate_per_s

    def take(self, key: str) -> bool:
        """Spend one of ``key``'s tokens; False (and nothing spent) when it has none."""
        with self._lock:
            now = self._clock()
            level = self._level(key, now)
            if level < 1.0:
                return False
            if key not in self._buckets and len(self._buckets) >= self.max_keys:
                self._make_room(now)
            self._buckets[key] = (level - 1.0, now)
            return True

    def _make_room(self, now: float) -> None:
        for name in [k for k in self._buckets if self._level(k, now) >= self.burst]:
            del self._buckets[name]
        if len(self._buckets) >= self.max_keys:
            del self._buckets[next(iter(self._buckets))]  # still full of busy keys: forget the oldest

    def __len__(self) -> int:
        """How many keys are remembered (those that spent tokens not yet regained)."""
        return len(self._buckets)
