"""The one retry helper: schedules, limits, what is retried, early stop; driven by a fake clock, never sleeping."""

from __future__ import annotations

import asyncio

import pytest
from hypothesis import given
from hypothesis import strategies as st

from finpilot.core import Backoff, Retry


class Flaky(Exception):
    """An error the tests retry."""


class FakeTime:
    """A monotonic clock that only moves when ``sleep`` is called: every wait is recorded, none is real."""

    def __init__(self) -> None:
        self.now = 100.0
        self.waits: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.waits.append(seconds)
        self.now += seconds

    async def asleep(self, seconds: float) -> None:
        self.sleep(seconds)


def failing(times: int, error: BaseException | None = None, answer: object = "ok") -> tuple[list[int], object]:
    calls: list[int] = []

    def fn() -> object:
        calls.append(1)
        if len(calls) <= times:
            raise error or Flaky()
        return answer

    return calls, fn


def test_backoff_doubles_to_its_cap() -> None:
    schedule = Backoff(first_s=0.5, multiplier=2, max_s=3)
    assert [schedule.delay(n) for n in range(5)] == [0.5, 1.0, 2.0, 3.0, 3.0]
    assert schedule.delay(10_000) == 3  # no float overflow on a long loop


@given(st.integers(0, 200), st.floats(0, 1), st.floats(0, 1))
def test_jitter_stays_between_the_share_below_and_the_delay(retry: int, jitter: float, draw: float) -> None:
    schedule = Backoff(first_s=0.1, max_s=5, jitter=jitter)
    plain = Backoff(first_s=0.1, max_s=5).delay(retry)
    assert plain * (1 - jitter) - 1e-12 <= schedule.delay(retry, rand=lambda: draw) <= plain + 1e-12


def test_an_error_is_retried_with_the_schedule_then_succeeds() -> None:
    time = FakeTime()
    calls, fn = failing(2)
    result = Retry(attempts=5, backoff=Backoff(first_s=0.1)).call(
        fn, retry_on=(Flaky,), sleep=time.sleep, clock=time.clock
    )
    assert result == "ok"
    assert len(calls) == 3
    assert time.waits == pytest.approx([0.1, 0.2])


def test_giving_up_raises_the_last_error() -> None:
    time = FakeTime()
    calls, fn = failing(10)
    with pytest.raises(Flaky):
        Retry(attempts=3).call(fn, retry_on=(Flaky,), sleep=time.sleep)
    assert len(calls) == 3
    assert len(time.waits) == 2


def test_an_error_not_named_is_raised_at_once() -> None:
    calls, fn = failing(1, error=KeyError("x"))
    with pytest.raises(KeyError):
        Retry(attempts=3).call(fn, retry_on=(Flaky,), sleep=FakeTime().sleep)
    assert len(calls) == 1


def test_a_predicate_decides_which_errors_are_safe_to_retry() -> None:
    class Send(Exception):
        def __init__(self, retry: bool) -> None:
            self.retry = retry

    for safe, expected_calls in ((True, 2), (False, 1)):
        calls, fn = failing(1, error=Send(safe))
        call = Retry(attempts=2, backoff=Backoff(first_s=0)).call
        if safe:
            assert call(fn, retry_on=lambda e: isinstance(e, Send) and e.retry) == "ok"
        else:
            with pytest.raises(Send):
                call(fn, retry_on=lambda e: isinstance(e, Send) and e.retry)
        assert len(calls) == expected_calls


def test_answers_can_be_retried_and_the_last_one_is_returned() -> None:
    answers = iter([503, 502, 500])
    time = FakeTime()
    seen: list[tuple[int, float, object]] = []
    result = Retry(attempts=3, backoff=Backoff(first_s=1)).call(
        lambda: next(answers),
        retry_if=lambda status: status >= 500,
        on_retry=lambda attempt, delay, outcome: seen.append((attempt, delay, outcome)),
        sleep=time.sleep,
    )
    assert result == 500
    assert seen == [(1, 1.0, 503), (2, 2.0, 502)]


def test_the_deadline_bounds_the_retries_and_no_attempt_starts_after_it() -> None:
    time = FakeTime()
    starts: list[float] = []

    def fn() -> str:
        starts.append(time.now)
        raise Flaky

    with pytest.raises(Flaky):
        Retry(attempts=None, deadline_s=1.0, backoff=Backoff(first_s=0.3, multiplier=1, max_s=0.3)).call(
            fn, retry_on=(Flaky,), sleep=time.sleep, clock=time.clock
        )
    assert starts == pytest.approx([100.0, 100.3, 100.6, 100.9, 101.0])  # the last wait is cut to the deadline


def test_a_zero_deadline_means_one_attempt() -> None:
    calls, fn = failing(5)
    with pytest.raises(Flaky):
        Retry(attempts=None, deadline_s=0).call(fn, retry_on=(Flaky,), sleep=FakeTime().sleep)
    assert len(calls) == 1


def test_a_sleep_that_returns_true_stops_early() -> None:
    calls, fn = failing(10)
    with pytest.raises(Flaky):
        Retry(attempts=10).call(fn, retry_on=(Flaky,), sleep=lambda _s: True)  # e.g. threading.Event.wait, set
    assert len(calls) == 1


def test_a_zero_delay_retries_without_calling_sleep() -> None:
    time = FakeTime()
    calls, fn = failing(1)
    assert Retry(attempts=2, backoff=Backoff(first_s=0)).call(fn, retry_on=(Flaky,), sleep=time.sleep) == "ok"
    assert (len(calls), time.waits) == (2, [])


def test_the_async_form_waits_through_the_injected_sleep() -> None:
    time = FakeTime()
    calls: list[int] = []

    async def fn() -> str:
        calls.append(1)
        if len(calls) < 3:
            raise Flaky
        return "ok"

    result = asyncio.run(
        Retry(attempts=3, backoff=Backoff(first_s=0.25)).acall(
            fn, retry_on=(Flaky,), sleep=time.asleep, clock=time.clock
        )
    )
    assert result == "ok"
    assert time.waits == pytest.approx([0.25, 0.5])


@pytest.mark.parametrize(
    "kwargs",
    [{"attempts": None}, {"attempts": 0}, {"attempts": None, "deadline_s": -1}],
)
def test_a_retry_that_could_never_end_or_never_start_is_refused(kwargs: dict[str, float | None]) -> None:
    with pytest.raises(ValueError, match="retry needs"):
        Retry(**kwargs)  # type: ignore[arg-type]


def test_a_shrinking_backoff_is_refused() -> None:
    with pytest.raises(ValueError, match="back-off needs"):
        Backoff(multiplier=0.5)
