"""Clocks and time stamps."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from finpilot.core import FakeClock, rfc3339


@given(
    st.datetimes(
        min_value=datetime(1000, 1, 2), timezones=st.sampled_from([UTC, timezone(timedelta(hours=5, minutes=30))])
    )
)
def test_rfc3339_matches_strftime_and_has_fixed_width(moment: datetime) -> None:
    # (glibc strftime does not pad years below 1000; RFC 3339 and isoformat do, so those are left out)
    try:
        expected = moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    except OverflowError:
        return  # the shift to UTC leaves datetime's range; nothing to compare
    text = rfc3339(moment)
    assert text == expected
    assert len(text) == 27
    assert sum(c.isdigit() for c in text) == 20  # the ledger's PAN scan relies on this


def test_rfc3339_refuses_naive() -> None:
    with pytest.raises(ValueError, match="naive"):
        rfc3339(datetime(2026, 1, 1))


def test_fake_clock_moves_only_when_told() -> None:
    clock = FakeClock(datetime(2026, 1, 1, tzinfo=UTC))
    assert clock() == clock()
    clock.advance(1.5)
    assert clock() == datetime(2026, 1, 1, 0, 0, 1, 500000, tzinfo=UTC)


def test_fake_clock_monotonic_counts_the_seconds_advanced() -> None:
    clock = FakeClock(datetime(2026, 1, 1, tzinfo=UTC))
    assert clock.monotonic() == 0.0
    clock.advance(1.5)
    clock.advance(0.25)
    assert clock.monotonic() == 1.75
    assert clock() == datetime(2026, 1, 1, 0, 0, 1, 750000, tzinfo=UTC)  # both readings move together
