"""Restart back-off: the schedule grows, is capped, and resets after a healthy period (fake clock)."""

from __future__ import annotations

import pytest

from finpilot.core import FakeClock, RestartSpec
from finpilot.heal._runtime._backoff import Backoff, backoff_delay


def test_default_schedule_restarts_at_once_then_doubles_to_the_cap() -> None:
    spec = RestartSpec(backoff_initial_s=0, backoff_step_s=0.1, backoff_max_s=1.0)
    assert [backoff_delay(spec, n) for n in range(7)] == pytest.approx([0, 0.1, 0.2, 0.4, 0.8, 1.0, 1.0])


def test_non_zero_initial_delay_grows_by_the_multiplier() -> None:
    spec = RestartSpec(backoff_initial_s=0.5, backoff_multiplier=3, backoff_max_s=10)
    assert [backoff_delay(spec, n) for n in range(5)] == pytest.approx([0.5, 1.5, 4.5, 10, 10])


def test_huge_attempt_counts_stay_capped() -> None:
    assert backoff_delay(RestartSpec(backoff_max_s=7), 10_000) == 7


def test_crash_loop_backs_off_and_a_healthy_period_resets_it() -> None:
    clock = FakeClock()
    backoff = Backoff(RestartSpec(backoff_initial_s=0, backoff_step_s=0.1, backoff_max_s=5, reset_after_s=10), clock)
    delays = []
    for _ in range(4):
        clock.advance(0.05)  # crashes right after each start
        delays.append(backoff.next_delay())
        clock.advance(delays[-1])
        backoff.started()
    assert delays == pytest.approx([0, 0.1, 0.2, 0.4])
    clock.advance(9.9)  # not yet healthy long enough: keeps growing
    assert backoff.next_delay() == pytest.approx(0.8)
    backoff.started()
    clock.advance(10.0)  # healthy for reset_after_s: forgiven
    assert backoff.next_delay() == 0
    assert backoff.restarts == 6


@pytest.mark.parametrize(
    ("policy", "code", "expected"),
    [
        ("always", 0, True),
        ("always", None, True),
        ("on-failure", 0, False),
        ("on-failure", 1, True),
        ("never", 1, False),
    ],
)
def test_policy_decides_whether_to_restart(policy: str, code: int | None, expected: bool) -> None:
    assert Backoff(RestartSpec(policy=policy)).should_restart(code) is expected  # type: ignore[arg-type]
