"""The "market open" rate schedule and the seasonal autoscaler that learns it from stored history."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from finpilot.audit import Entry
from finpilot.audit.kinds import WatchScaleEvidence
from finpilot.watch import (
    CapacityModel,
    EmbeddedQuery,
    MetricsStore,
    PredictiveAutoscaler,
    PredictiveSettings,
    RateSchedule,
    ScheduleError,
    backfill_counter,
)

SIGNAL = 'finpilot_router_requests_total{service="payments"}'


@st.composite
def schedules(draw: st.DrawFn) -> RateSchedule:
    period = draw(st.floats(2, 600))
    at = draw(st.floats(0, period * 0.9))
    length = draw(st.floats(period * 0.01, period - at))
    return RateSchedule(
        base=draw(st.floats(0.5, 50)),
        period_s=period,
        surge_at_s=at,
        surge_s=length,
        factor=draw(st.floats(1, 10)),
        origin=draw(st.floats(0, 1e6)),
    )


@settings(max_examples=60, deadline=None)
@given(schedules(), st.floats(0, 1e4), st.floats(0.5, 300))
def test_send_times_follow_the_integral_of_the_rate(schedule: RateSchedule, offset: float, span: float) -> None:
    start = schedule.origin + offset
    times = []
    for t in schedule.send_times(start):
        if t >= start + span:
            break
        times.append(t)
    assert times == sorted(times)
    assert all(t >= start for t in times)
    # The i-th request goes when the schedule's integral reaches i: the count is its ceiling.
    assert (
        len(times) == math.ceil(schedule.count(start, start + span) - 1e-6)
        or abs(len(times) - schedule.count(start, start + span)) <= 1
    )


@settings(max_examples=60, deadline=None)
@given(schedules(), st.floats(0, 1e4), st.floats(0, 1))
def test_the_rate_is_the_surge_exactly_inside_the_surges(schedule: RateSchedule, offset: float, where: float) -> None:
    start = schedule.origin + offset
    (begin, end), *_ = [s for s in schedule.surges(start, start + 3 * schedule.period_s) if s[0] >= start]
    assert end - begin == pytest.approx(schedule.surge_s)
    inside = begin + where * (end - begin) * 0.999
    assert schedule.rate_at(inside) == pytest.approx(schedule.base * schedule.factor)
    if schedule.surge_s < schedule.period_s * 0.99:
        assert schedule.rate_at(end + (schedule.period_s - schedule.surge_s) * 0.5) == pytest.approx(schedule.base)
    assert schedule.next_surge(start) == (begin, end)


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"base": 0}, "base"),
        ({"period_s": 1}, "period_s"),
        ({"surge_at_s": 60}, "surge_at_s"),
        ({"surge_s": 30}, "surge_s"),
        ({"factor": 0.5}, "factor"),
        ({"base": math.nan}, "base"),
    ],
)
def test_a_bad_schedule_names_its_field(changes: dict[str, float], field: str) -> None:
    values = {"base": 4.0, "period_s": 60.0, "surge_at_s": 40.0, "surge_s": 15.0, "factor": 4.0, **changes}
    with pytest.raises(ScheduleError) as caught:
        RateSchedule(**values).check()
    assert caught.value.field == field


def test_the_seasonal_autoscaler_learns_the_surge_from_history_and_scales_before_it(tmp_path: Path) -> None:
    day = 60.0
    origin = 1_800_000_000.0
    schedule = RateSchedule(base=4.0, period_s=day, surge_at_s=40.0, surge_s=15.0, factor=4.0, origin=origin)
    store = MetricsStore(tmp_path / "metrics.db")
    # Three days: two of history before the autoscaler starts, then the measured one.
    labels = {"service": "payments", "source": "history"}
    written = backfill_counter(store, "finpilot_router_requests_total", labels, schedule, origin, origin + 3.5 * day)
    assert written.accepted == 3.5 * 60
    model = CapacityModel(step_s=1.0, per_replica=6.0, startup_s=4.0, min_replicas=1, max_replicas=4)
    policy = PredictiveSettings(season_s=day, extra_lead_s=3.0, down_window_s=5.0, up_cooldown_s=5.0)
    entries: list[Entry] = []
    now = [origin + 2 * day]
    replicas = {"payments": 1}

    class Target:
        def describe(self) -> str:
            return "runtime:test"

        def current(self, service: str) -> int:
            return replicas[service]

        def set_replicas(self, service: str, n: int) -> None:
            replicas[service] = n

    scaler = PredictiveAutoscaler(
        EmbeddedQuery(store),
        Target(),
        "payments",
        SIGNAL,
        model=model,
        settings=policy,
        audit=entries.append,
        clock=lambda: now[0],
        rate_window=3.0,
    )
    assert scaler.warm(span_s=2 * day - 5) >= 100
    timeline: list[tuple[float, int]] = []
    while now[0] < origin + 3.5 * day - 1:
        now[0] += 1.0
        action = scaler.step()
        if action is not None:
            timeline.append((now[0], action.to_replicas))
    surge_start, surge_end = schedule.next_surge(origin + 2 * day)
    ups = [(t, n) for t, n in timeline if n > 1]
    assert ups, timeline
    first_up = ups[0][0]
    assert first_up < surge_start, timeline
    # Up in time for the start-up delay, not minutes early.
    assert surge_start - first_up <= model.startup_s + policy.extra_lead_s + 4
    # Enough for the surge (16 req/s at 6 a replica) by the time it starts.
    assert max(n for t, n in timeline if t < surge_start) >= 3
    # And back down once the surge has passed.
    assert timeline[-1][1] == 1
    assert timeline[-1][0] > surge_end
    # The action that reached the surge's replicas rests on a forecast of the surge itself.
    top = max(entries, key=lambda e: e.evidence["to_replicas"])
    evidence = WatchScaleEvidence.model_validate(top.evidence)
    assert evidence.forecast.model.startswith("seasonal(")
    assert evidence.reason == "predictive"
    assert evidence.forecast.points is not None
    # It saw the surge coming (well above the base rate) and provisioned for the upper bound.
    assert max(p.mean for p in evidence.forecast.points) >= 2 * schedule.base
    assert evidence.forecast.upper_max > (evidence.to_replicas - 1) * model.per_replica
