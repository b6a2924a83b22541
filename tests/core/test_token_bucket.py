"""TokenBuckets: a burst, then a steady rate, per key; bounded memory; and the settings that feed it."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from finpilot.core import ConfigError, FakeClock, InputError, TokenBuckets, parse_settings


def test_a_burst_then_one_per_interval() -> None:
    clock = FakeClock()
    buckets = TokenBuckets(0.5, 3, clock=clock.monotonic)
    assert [buckets.take("a") for _ in range(4)] == [True, True, True, False]
    assert buckets.wait_s("a") == pytest.approx(2.0)
    assert buckets.wait_s("b") == 0.0, "other keys are untouched"
    clock.advance(1.5)
    assert buckets.wait_s("a") == pytest.approx(0.5)
    clock.advance(0.5)
    assert [buckets.take("a"), buckets.take("a")] == [True, False]


def test_memory_stays_bounded_and_full_buckets_are_forgotten_first() -> None:
    clock = FakeClock()
    buckets = TokenBuckets(1, 2, clock=clock.monotonic, max_keys=3)
    for key in ("a", "b", "c"):
        buckets.take(key)
    clock.advance(10)  # all three have refilled: the same as never seen
    buckets.take("d")
    assert len(buckets) == 1
    for key in ("e", "f", "g", "h"):
        buckets.take(key)
    assert len(buckets) == 3


@given(st.lists(st.floats(min_value=0, max_value=5), max_size=200), st.integers(1, 10))
def test_never_more_than_the_burst_plus_the_rate(gaps: list[float], burst: int) -> None:
    clock = FakeClock()
    buckets = TokenBuckets(2.0, burst, clock=clock.monotonic)
    taken = 0
    for gap in gaps:
        clock.advance(gap)
        taken += buckets.take("k")
    assert taken <= burst + 2.0 * sum(gaps) + 1e-6


def test_bad_parameters_are_refused() -> None:
    with pytest.raises(InputError):
        TokenBuckets(0, 1)
    with pytest.raises(InputError):
        TokenBuckets(1, 0)


def test_trusted_proxies_must_be_addresses_or_networks() -> None:
    ok = parse_settings("console:\n  trusted_proxies: [10.0.0.5, 10.1.0.0/16, '::1']\n")
    assert ok.console.trusted_proxies == ["10.0.0.5", "10.1.0.0/16", "::1"]
    with pytest.raises(ConfigError) as caught:
        parse_settings("console:\n  trusted_proxies: [10.0.0.5, proxy.local]\n")
    assert caught.value.field == "console.trusted_proxies.1"
