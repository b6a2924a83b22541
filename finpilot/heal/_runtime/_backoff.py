"""Restart back-off: exponential, capped, and forgiven after a healthy period.

Kubernetes' CrashLoopBackOff grows 10 s, 20 s ... 300 s; finpilot's default starts at 0 (a
crash is restarted at once) and doubles from ``backoff_step_s``, so one crash costs nothing
and only a crash loop slows down. The schedule is core's one back-off
(:class:`~finpilot.core.Backoff`, shared with every retry in finpilot), a pure function of the
restart count, so it is tested without sleeping; what is particular here is the free first
restart and the reset after a healthy period.
"""

from __future__ import annotations

from finpilot.core import Backoff as Schedule
from finpilot.core import Clock, RestartSpec, utc_now


def backoff_delay(spec: RestartSpec, attempt: int) -> float:
    """Delay before restart number ``attempt`` (0 = the first restart since the last reset)."""
    if spec.backoff_initial_s > 0:
        return Schedule(spec.backoff_initial_s, spec.backoff_multiplier, spec.backoff_max_s).delay(attempt)
    if attempt <= 0:
        return 0.0  # the first restart is free; the schedule starts at backoff_step_s after it
    return Schedule(spec.backoff_step_s, spec.backoff_multiplier, spec.backoff_max_s).delay(attempt - 1)


class Backoff:
    """Per-replica restart bookkeeping: call :meth:`started` when it starts, :meth:`next_delay` when it exits."""

    def __init__(self, spec: RestartSpec, clock: Clock = utc_now) -> None:
        self._spec = spec
        self._clock = clock
        self._attempt = 0
        self._started_at = clock()
        self.restarts = 0
        """Restarts so far (never reset; reported in status)."""

    def started(self) -> None:
        """The replica has just been (re)started."""
        self._started_at = self._clock()

    def next_delay(self) -> float:
        """The replica exited: how long to wait before the next start. Resets after a healthy period."""
        ran = (self._clock() - self._started_at).total_seconds()
        if ran >= self._spec.reset_after_s:
            self._attempt = 0
        delay = backoff_delay(self._spec, self._attempt)
        self._attempt += 1
        self.restarts += 1
        return delay

    def should_restart(self, exit_code: int | None) -> bool:
        """Whether the policy restarts a replica that exited with ``exit_code`` (None: killed by a signal)."""
        if self._spec.policy == "never":
            return False
        if self._spec.policy == "on-failure":
            return exit_code != 0
        return True
