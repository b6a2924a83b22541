"""A sliding-window rate limiter with a cooldown, so a runbook cannot start a remediation storm.

Every accepted action's time is kept for one window. An action is refused when the runbook
already took ``max_actions`` in the last ``window_s`` seconds, when its target already took
``max_per_target``, or while the cooldown that follows a trip lasts. Because an action is
accepted only when fewer than the limit were accepted in the window ending at that moment,
no window of ``window_s`` seconds, wherever it starts, ever holds more than the limit.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from finpilot.core import InputError

Reason = Literal["ok", "runbook-limit", "target-limit", "cooldown"]


@dataclass(frozen=True)
class RateDecision:
    """The limiter's answer for one action.

    ``first_refusal`` is true for the refusal that starts a streak (the trip itself), so a
    caller escalates once per trip rather than once per refused action.
    """

    allowed: bool
    reason: Reason
    count: int
    limit: int
    retry_after_s: float
    first_refusal: bool = False


class RateLimiter:
    """At most ``max_actions`` per ``window_s`` seconds overall and ``max_per_target`` per target; thread-safe."""

    def __init__(
        self,
        max_actions: int,
        window_s: float,
        *,
        max_per_target: int | None = None,
        cooldown_s: float = 0.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if max_actions < 1 or window_s <= 0 or cooldown_s < 0 or (max_per_target is not None and max_per_target < 1):
            raise InputError(
                "a rate limit needs max_actions >= 1, window_s > 0, cooldown_s >= 0 and max_per_target >= 1",
                field="rate_limit",
            )
        self.max_actions = max_actions
        self.window_s = window_s
        self.max_per_target = max_per_target or max_actions
        self.cooldown_s = cooldown_s
        self._clock = clock
        self._all: deque[float] = deque()
        self._per_target: dict[str, deque[float]] = {}
        self._cool_until = float("-inf")
        self._refusing: set[str] = set()  # scopes ("*" or a target) whose last answer was a refusal
        self._lock = threading.Lock()

    def _expire(self, times: deque[float], now: float) -> None:
        # Keep times inside (now - window, now]: exactly the ones that count against this moment.
        while times and times[0] <= now - self.window_s:
            times.popleft()

    def acquire(self, target: str) -> RateDecision:
        """Take one action on ``target`` now if the limits allow it; say why not otherwise."""
        with self._lock:
            now = self._clock()
            self._expire(self._all, now)
            mine = self._per_target.setdefault(target, deque())
            self._expire(mine, now)
            if now < self._cool_until:
                return self._refuse("*", "cooldown", len(self._all), self.max_actions, self._cool_until - now)
            if len(self._all) >= self.max_actions:
                self._cool_until = now + self.cooldown_s
                wait = max(self.cooldown_s, self._all[0] + self.window_s - now)
                return self._refuse("*", "runbook-limit", len(self._all), self.max_actions, wait)
            if len(mine) >= self.max_per_target:
                wait = mine[0] + self.window_s - now
                return self._refuse(target, "target-limit", len(mine), self.max_per_target, wait)
            self._all.append(now)
            mine.append(now)
            self._refusing.discard("*")
            self._refusing.discard(target)
            for name in [t for t, times in self._per_target.items() if not times and t != target]:
                del self._per_target[name]  # targets seen once must not grow the map forever
            return RateDecision(True, "ok", len(self._all), self.max_actions, 0.0)

    def _refuse(self, scope: str, reason: Reason, count: int, limit: int, wait: float) -> RateDecision:
        first = scope not in self._refusing
        self._refusing.add(scope)
        return RateDecision(False, reason, count, limit, round(max(0.0, wait), 3), first_refusal=first)
