"""The runbook rate limiter: never more than N actions in any window, per runbook and per target."""

from __future__ import annotations

import bisect

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from finpilot.core import InputError
from finpilot.heal._runbook._ratelimit import RateLimiter


class _Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def _max_in_any_window(times: list[float], window: float) -> int:
    # The busiest window ends at an accepted action: count those in (t - window, t].
    ordered = sorted(times)
    return max((i + 1 - bisect.bisect_right(ordered, t - window) for i, t in enumerate(ordered)), default=0)


@settings(max_examples=300, deadline=None)
@given(
    limit=st.integers(1, 5),
    per_target=st.one_of(st.none(), st.integers(1, 5)),
    window=st.sampled_from([0.5, 1.0, 3.0]),
    cooldown=st.sampled_from([0.0, 0.7, 2.0]),
    steps=st.lists(st.tuples(st.floats(0, 1.5, allow_nan=False), st.sampled_from("abc")), max_size=60),
)
def test_never_more_than_the_limit_in_any_window(
    limit: int, per_target: int | None, window: float, cooldown: float, steps: list[tuple[float, str]]
) -> None:
    clock = _Clock()
    limiter = RateLimiter(limit, window, max_per_target=per_target, cooldown_s=cooldown, clock=clock)
    accepted: list[float] = []
    by_target: dict[str, list[float]] = {}
    trips: list[float] = []
    for gap, target in steps:
        clock.now += gap
        decision = limiter.acquire(target)
        if decision.allowed:
            assert all(not (t <= clock.now < t + cooldown) for t in trips), "accepted during a cooldown"
            accepted.append(clock.now)
            by_target.setdefault(target, []).append(clock.now)
        else:
            assert decision.reason in ("runbook-limit", "target-limit", "cooldown")
            assert decision.retry_after_s >= 0
            if decision.reason == "runbook-limit":
                trips.append(clock.now)
    assert _max_in_any_window(accepted, window) <= limit
    for times in by_target.values():
        assert _max_in_any_window(times, window) <= (per_target or limit)


def test_a_trip_is_reported_once_then_the_cooldown_holds() -> None:
    clock = _Clock()
    limiter = RateLimiter(2, 10, cooldown_s=60, clock=clock)
    assert limiter.acquire("x").allowed
    assert limiter.acquire("x").allowed
    first = limiter.acquire("x")
    assert (first.allowed, first.reason, first.first_refusal, first.count, first.limit) == (
        False,
        "runbook-limit",
        True,
        2,
        2,
    )
    assert first.retry_after_s == 60
    clock.now = 30  # the window has passed, the cooldown has not
    again = limiter.acquire("y")
    assert (again.allowed, again.reason, again.first_refusal) == (False, "cooldown", False)
    clock.now = 61
    assert limiter.acquire("y").allowed
    assert limiter.acquire("y").allowed
    assert limiter.acquire("y").first_refusal  # a new trip after an accepted action is reported again


def test_per_target_limit_leaves_other_targets_free() -> None:
    clock = _Clock()
    limiter = RateLimiter(10, 5, max_per_target=1, clock=clock)
    assert limiter.acquire("restart:a").allowed
    refused = limiter.acquire("restart:a")
    assert (refused.allowed, refused.reason, refused.first_refusal) == (False, "target-limit", True)
    assert limiter.acquire("restart:b").allowed
    clock.now = 5.0  # exactly one window later the first action no longer counts
    assert limiter.acquire("restart:a").allowed


def test_nonsense_limits_are_refused() -> None:
    with pytest.raises(InputError):
        RateLimiter(0, 1)
    with pytest.raises(InputError):
        RateLimiter(1, 0)
