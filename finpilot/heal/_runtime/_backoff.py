"""Restart back-off: exponential, capped, and forgiven after a healthy period.

Kubernetes' CrashLoopBackOff grows 10 s, 20 s ... 300 s; finpilot's default starts at 0 (a
crash is restarted at once) and doubles from ``backoff_step_s``, so one crash costs nothing
and only a crash loop slows down. The schedule is a pure function of the restart count, so it
is tested without sleeping.
"""

from __future__ import annotations

from finpilot.core import Clock, RestartSpec, utc_now


def backoff_delay(spec: RestartSpec, attempt: int) -> float:
    """Delay before restart number ``attempt`` (0 = the first restart since the last reset)."""
    if attempt <= 0:
        return min(spec.backoff_initial_s, spec.backoff_max_s)
    base = spec.backoff_initial_s if spec.backoff_initial_s > 0 else spec.backoff_step_s
    exponent = attempt if spec.backoff_initial_s > 0 else attempt - 1
    # Cap the exponent so a long crash loop never overflows a float.
    return float(min(spec.backoff_max_s, base * spec.backoff_multiplier ** min(exponent, 64)))


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
