"""The one retry helper: capped exponential back-off, bounded by attempts and/or a deadline.

:class:`Retry` runs a callable again while it raises an error it was told to retry
(``retry_on``: exception types, or a predicate for errors that say themselves whether a retry
is safe) or returns an answer it was told to retry (``retry_if``, e.g. a 5xx). Between attempts
it waits :meth:`Backoff.delay` (``first_s * multiplier**n``, capped at ``max_s``, with optional
jitter), never past the deadline. When it gives up, the last error is raised, or the last answer
returned, so the caller reports it as it always did. ``sleep`` and ``clock`` are injected: tests
drive every schedule with a fake clock and no real sleep, and a ``sleep`` that returns true
(``threading.Event.wait``) stops the retries early, for a shutdown. :meth:`Retry.acall` is the
same for coroutines (``asyncio.sleep`` by default).

Why not stamina or tenacity (both on PyPI): ``python -m bench.core.bench_retry --rounds 5``
measured stamina 26.1.0 and tenacity 9.2.1 against this module on 2026-12-06 (2 cores shared
with other jobs, load 1.7-3.9; median of 5 alternated rounds), in µs per call:

===============================  =========  ====  ========  =======
path                             bare call  this  tenacity  stamina
===============================  =========  ====  ========  =======
success, sync                    0.10       0.75  34        33
success, async                   0.25       1.0   43        40
one retry (zero wait), sync      -          5.3   62        330
import, ms                       -          0     51        70
===============================  =========  ====  ========  =======

The success path is the one that matters, and there both libraries cost about 40 times this
module: the PostgreSQL store wraps every statement in its reconnect retry, and the traffic
generator every request, whose whole client costs about 56 µs of CPU (``RawSender``), so either
library would add about three quarters to it. stamina's extras are costs here too: it logs every
retry at WARNING and, with prometheus-client installed (it is), counts it in a
``stamina_retries_total`` metric in the default registry that the console serves; its no-sleep
test mode is process-wide. What finpilot's callers need of them (retry on error types, on a
predicate or on an answer, attempts and a deadline, capped exponential back-off with jitter,
async, an injected sleep and clock for tests) fits in this one module.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TypeVar

T = TypeVar("T")

RetryOn = tuple[type[BaseException], ...] | Callable[[BaseException], bool]
"""What errors are retried: exception types, or a predicate (an error that knows whether a retry is safe)."""

OnRetry = Callable[[int, float, object], None]
"""Told before each wait: the attempt that failed (1 = the first), the delay, and its error or answer."""


@dataclass(frozen=True)
class Backoff:
    """A delay schedule: ``first_s * multiplier**n`` seconds before retry ``n`` (0 = the first), capped.

    ``jitter`` is the share of each delay drawn at random (0.2: between 80 % and 100 % of it), so
    that many clients failing together do not retry together.
    """

    first_s: float = 0.1
    multiplier: float = 2.0
    max_s: float = 30.0
    jitter: float = 0.0

    def __post_init__(self) -> None:
        if self.first_s < 0 or self.multiplier < 1 or self.max_s < 0 or not 0 <= self.jitter <= 1:
            raise ValueError("a back-off needs first_s >= 0, multiplier >= 1, max_s >= 0 and 0 <= jitter <= 1")

    def delay(self, retry: int, rand: Callable[[], float] = random.random) -> float:
        """Seconds to wait before retry number ``retry`` (0 = the first)."""
        # Cap the exponent so a long retry loop never overflows a float.
        base = min(self.max_s, self.first_s * self.multiplier ** min(max(retry, 0), 64))
        return base * (1 - self.jitter * rand()) if self.jitter else base


@dataclass(frozen=True)
class Retry:
    """How often and how long to retry: at most ``attempts`` calls (None: no limit) within ``deadline_s``.

    With neither limit a retry never gives up, so one of them is required.
    """

    attempts: int | None = 3
    deadline_s: float | None = None
    backoff: Backoff = field(default_factory=Backoff)

    def __post_init__(self) -> None:
        if self.attempts is None and self.deadline_s is None:
            raise ValueError("a retry needs attempts or deadline_s, or it never gives up")
        if (self.attempts is not None and self.attempts < 1) or (self.deadline_s is not None and self.deadline_s < 0):
            raise ValueError("a retry needs attempts >= 1 and deadline_s >= 0")

    def _wait(self, attempt: int, start: float, clock: Callable[[], float], rand: Callable[[], float]) -> float | None:
        """The delay after failed attempt number ``attempt``, or None to give up."""
        if self.attempts is not None and attempt >= self.attempts:
            return None
        delay = self.backoff.delay(attempt - 1, rand)
        if self.deadline_s is not None:
            left = start + self.deadline_s - clock()
            if left <= 0:
                return None
            delay = min(delay, left)  # the last attempt starts at the deadline, not after it
        return delay

    def call(
        self,
        fn: Callable[[], T],
        *,
        retry_on: RetryOn = (),
        retry_if: Callable[[T], bool] | None = None,
        on_retry: OnRetry | None = None,
        sleep: Callable[[float], object] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        rand: Callable[[], float] = random.random,
    ) -> T:
        """Call ``fn`` until it succeeds or the policy gives up (then its last error is raised, or answer returned)."""
        start = clock() if self.deadline_s is not None else 0.0
        types, check = _split(retry_on)
        attempt = 0
        while True:
            attempt += 1
            error: BaseException | None = None
            try:
                result = fn()
            except types as exc:
                if check is not None and not check(exc):
                    raise
                error = exc
            else:
                if retry_if is None or not retry_if(result):
                    return result
            delay = self._wait(attempt, start, clock, rand)
            if delay is not None and on_retry is not None:
                on_retry(attempt, delay, result if error is None else error)
            if delay is None or (delay > 0 and sleep(delay)):
                if error is not None:
                    raise error
                return result

    async def acall(
        self,
        fn: Callable[[], Awaitable[T]],
        *,
        retry_on: RetryOn = (),
        retry_if: Callable[[T], bool] | None = None,
        on_retry: OnRetry | None = None,
        sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
        clock: Callable[[], float] = time.monotonic,
        rand: Callable[[], float] = random.random,
    ) -> T:
        """:meth:`call` for a coroutine function; the waits are ``await sleep(delay)``."""
        start = clock() if self.deadline_s is not None else 0.0
        types, check = _split(retry_on)
        attempt = 0
        while True:
            attempt += 1
            error: BaseException | None = None
            try:
                result = await fn()
            except types as exc:
                if check is not None and not check(exc):
                    raise
                error = exc
            else:
                if retry_if is None or not retry_if(result):
                    return result
            delay = self._wait(attempt, start, clock, rand)
            if delay is not None and on_retry is not None:
                on_retry(attempt, delay, result if error is None else error)
            if delay is None or (delay > 0 and await sleep(delay)):
                if error is not None:
                    raise error
                return result


def _split(retry_on: RetryOn) -> tuple[tuple[type[BaseException], ...], Callable[[BaseException], bool] | None]:
    if isinstance(retry_on, tuple):
        return retry_on, None
    return (Exception,), retry_on
