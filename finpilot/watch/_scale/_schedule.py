"""A load schedule with a "market open" surge: a base rate and a surge at a known time of each day.

A day is compressed to ``period_s`` seconds for the demo (a real one is 86 400). Each day the rate
is ``base`` except from ``surge_at_s`` into the day, for ``surge_s`` seconds, when it is
``factor`` times ``base``. The traffic generator sends on this schedule; the autoscaler never reads
it: it learns the pattern from the request-rate history in the metrics store (see
:func:`backfill_counter`, which writes the days before now as a company's history would hold them).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from finpilot.watch._errors import ScheduleError
from finpilot.watch._metrics._store import MetricsStore, WriteResult


@dataclass(frozen=True)
class RateSchedule:
    """A base rate with one surge a day, days of ``period_s`` seconds starting at ``origin``.

    Times are absolute (Unix seconds): day ``n`` starts at ``origin + n * period_s``, so the
    surge's phase is the same for whoever shares ``origin`` (the sender, a backfill, a test).
    """

    base: float
    """Requests per second outside the surge."""
    period_s: float
    """The length of a (compressed) day."""
    surge_at_s: float
    """When the surge starts, in seconds into the day ("market open")."""
    surge_s: float
    """How long the surge lasts."""
    factor: float
    """The surge's rate as a multiple of ``base``."""
    origin: float = 0.0
    """The start of day 0 (Unix seconds)."""

    def check(self) -> None:
        """Raise :class:`ScheduleError` naming the field when a value is out of range."""
        checks = [
            (math.isfinite(self.base) and 0 < self.base <= 100_000, "base", "a rate between 0 and 100000 per second"),
            (math.isfinite(self.period_s) and self.period_s >= 2, "period_s", "a day of at least 2 seconds"),
            (0 <= self.surge_at_s < self.period_s, "surge_at_s", "a time within the day (0 <= at < period)"),
            (0 < self.surge_s <= self.period_s - self.surge_at_s, "surge_s", "a surge that ends within its day"),
            (math.isfinite(self.factor) and 1 <= self.factor <= 1000, "factor", "a multiple between 1 and 1000"),
            (math.isfinite(self.origin), "origin", "a finite Unix time"),
        ]
        for ok, name, wanted in checks:
            if not ok:
                raise ScheduleError(
                    f"surge schedule: {name} must be {wanted}", field=name, fix=f"set {name} to {wanted}"
                )

    def rate_at(self, t: float) -> float:
        """The scheduled rate at time ``t``."""
        # Through the same day arithmetic as the surges, so a boundary is never a rounding apart.
        inside = any(begin <= t < end for begin, end in self.surges(t, math.nextafter(t, math.inf)))
        return self.base * self.factor if inside else self.base

    def surges(self, start: float, end: float) -> list[tuple[float, float]]:
        """The ``(start, end)`` of every surge overlapping ``[start, end)``."""
        first = math.floor((start - self.origin) / self.period_s) - 1
        found: list[tuple[float, float]] = []
        day = first
        while True:
            begin = self.origin + day * self.period_s + self.surge_at_s
            if begin >= end:
                return found
            if begin + self.surge_s > start:
                found.append((begin, begin + self.surge_s))
            day += 1

    def next_surge(self, after: float) -> tuple[float, float]:
        """The first surge starting at or after ``after``."""
        return next(s for s in self.surges(after, after + 2 * self.period_s) if s[0] >= after)

    def _pieces(self, start: float) -> Iterator[tuple[float, float, float]]:
        """``(begin, end, rate)`` of constant rate from ``start`` on, forever."""
        day = math.floor((start - self.origin) / self.period_s)
        while True:
            d0 = self.origin + day * self.period_s
            s0, s1 = d0 + self.surge_at_s, d0 + self.surge_at_s + self.surge_s
            for begin, end, rate in (
                (d0, s0, self.base),
                (s0, s1, self.base * self.factor),
                (s1, d0 + self.period_s, self.base),
            ):
                if end > start and end > begin:
                    yield max(begin, start), end, rate
            day += 1

    def count(self, start: float, end: float) -> float:
        """Requests the schedule sends in ``[start, end)`` (the integral of the rate)."""
        total = 0.0
        for begin, stop, rate in self._pieces(start):
            if begin >= end:
                return total
            total += rate * (min(stop, end) - begin)
        return total  # pragma: no cover - the pieces never end

    def send_times(self, start: float) -> Iterator[float]:
        """When to send each request from ``start`` on: the i-th where the integral reaches i."""
        done = 0.0  # requests scheduled before the current piece (fractional)
        index = 0
        for begin, end, rate in self._pieces(start):
            after = done + rate * (end - begin)
            while index < after:
                yield begin + (index - done) / rate
                index += 1
            done = after

    def as_dict(self) -> dict[str, float]:
        """The schedule, for JSON output and evidence."""
        return {
            "base_rps": self.base,
            "period_s": self.period_s,
            "surge_at_s": self.surge_at_s,
            "surge_s": self.surge_s,
            "factor": self.factor,
            "origin": self.origin,
        }


def counter_samples(
    schedule: RateSchedule, start: float, end: float, step_s: float = 1.0
) -> Iterable[tuple[float, float]]:
    """``(time, cumulative count)`` of a counter fed on ``schedule``, every ``step_s`` in ``[start, end)``."""
    total, t = 0.0, start
    while t < end:
        yield t, total
        total += schedule.count(t, t + step_s)
        t += step_s


def backfill_counter(
    store: MetricsStore,
    name: str,
    labels: dict[str, str],
    schedule: RateSchedule,
    start: float,
    end: float,
    step_s: float = 1.0,
) -> WriteResult:
    """Write the history of a counter fed on ``schedule`` over ``[start, end)`` into ``store``.

    This stands for the weeks of request-rate history a company's metrics already hold: the
    forecaster learns the daily pattern from it through the store, as it would from real history.
    Give ``labels`` a mark of its own (e.g. ``source="history"``) so it is never taken for a live series.
    """
    if end <= start or step_s <= 0:
        raise ScheduleError("backfill: the range is empty", field="start", fix="give a start before the end")
    key = tuple(sorted(labels.items()))
    rows = [(name, key, value, round(t * 1000)) for t, value in counter_samples(schedule, start, end, step_s)]
    return store.write(rows, scrape_time=end, target=f"backfill:{name}")
