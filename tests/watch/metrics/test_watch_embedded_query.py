"""EmbeddedQuery against hand-computed PromQL answers (Prometheus 2.42's arithmetic)."""

from __future__ import annotations

import math
import tempfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from finpilot.watch import EmbeddedQuery, MetricsQuery, MetricsStore, QueryError

T0 = 1_700_000_000.0


def ms(seconds: float) -> int:
    return round(seconds * 1000)


def labels(**kw: str) -> tuple[tuple[str, str], ...]:
    return tuple(sorted(kw.items()))


@pytest.fixture
def store(tmp_path: Path) -> MetricsStore:
    return MetricsStore(tmp_path / "metrics.db", out_of_order_s=10**6, retention_s=10**8, downsample_after_s=None)


def put(store: MetricsStore, name: str, lab: tuple[tuple[str, str], ...], points: list[tuple[float, float]]) -> None:
    store.write([(name, lab, v, ms(T0 + t)) for t, v in points], scrape_time=T0 + 10**6)


def test_it_is_a_metrics_query(store: MetricsStore) -> None:
    query: MetricsQuery = EmbeddedQuery(store)
    assert query.describe().startswith("sqlite:")


def test_range_takes_the_newest_sample_within_the_five_minute_look_back(store: MetricsStore) -> None:
    put(store, "g", labels(a="1"), [(0, 1.0), (400, 2.0)])
    (s,) = EmbeddedQuery(store).range("g", T0, T0 + 800, 100)
    assert s.name == "g"
    assert dict(s.labels) == {"a": "1"}
    # 300 s after the sample still sees it (Prometheus 2.42's look-back is closed); 800 is past 400+300.
    assert [(t - T0, v) for t, v in s.points] == [
        (0, 1.0),
        (100, 1.0),
        (200, 1.0),
        (300, 1.0),
        (400, 2.0),
        (500, 2.0),
        (600, 2.0),
        (700, 2.0),
    ]


def test_series_lists_only_series_with_samples_in_range(store: MetricsStore) -> None:
    put(store, "g", labels(a="1"), [(0, 1.0)])
    put(store, "g", labels(a="2"), [(5000, 1.0)])
    found = EmbeddedQuery(store).series('g{a=~"1|2"}', T0 - 10, T0 + 10)
    assert [dict(s.labels) for s in found] == [{"a": "1"}]
    assert found[0].points == ()


def counter(store: MetricsStore, lab: tuple[tuple[str, str], ...], values: list[float], every: float = 15) -> None:
    put(store, "c_total", lab, [(i * every, v) for i, v in enumerate(values)])


def rate_at(store: MetricsStore, t: float, window: float, selector: str = "c_total") -> float:
    (s,) = EmbeddedQuery(store).rate(selector, T0 + t, T0 + t, 15, window)
    assert s.name == ""  # PromQL drops the name of a computed value
    ((_, value),) = s.points
    return value


def test_rate_of_a_steady_counter_is_its_slope(store: MetricsStore) -> None:
    counter(store, labels(), [0, 15, 30, 45, 60])
    assert rate_at(store, 60, 60) == pytest.approx(1.0)


def test_rate_extrapolates_to_the_end_and_not_before_the_zero_point(store: MetricsStore) -> None:
    # Window [-10, 50]: samples 0..45 at 0,15,30,45; increase 45 over 45 s; start clamped to the
    # zero point (0 s before the first sample), end extrapolated by 5 s: 45 * 50/45 / 60.
    counter(store, labels(), [0, 15, 30, 45, 60])
    assert rate_at(store, 50, 60) == pytest.approx(50 / 60)


def test_rate_handles_a_counter_reset(store: MetricsStore) -> None:
    # 10, 20, (restart) 5, 15, 25: increase 35 over the 60 s window.
    counter(store, labels(), [10, 20, 5, 15, 25])
    assert rate_at(store, 60, 60) == pytest.approx(35 / 60)


def test_rate_extrapolates_by_half_an_interval_when_the_first_sample_is_far_from_the_edge(
    store: MetricsStore,
) -> None:
    # Samples at 30, 45, 60 only: 30 s from the window start (> 1.1 x 15), so +7.5 s there.
    put(store, "c_total", labels(), [(30, 100), (45, 115), (60, 130)])
    assert rate_at(store, 60, 60) == pytest.approx(30 * (37.5 / 30) / 60)


def test_rate_needs_two_samples_in_the_window(store: MetricsStore) -> None:
    put(store, "c_total", labels(), [(0, 1), (100, 2)])
    assert EmbeddedQuery(store).rate("c_total", T0 + 50, T0 + 50, 15, 60) == []


def test_aggregations_by_labels(store: MetricsStore) -> None:
    put(store, "g", labels(svc="a", pod="1"), [(0, 1.0)])
    put(store, "g", labels(svc="a", pod="2"), [(0, 3.0)])
    put(store, "g", labels(svc="b", pod="1"), [(0, math.nan)])
    put(store, "g", labels(svc="b", pod="2"), [(0, 5.0)])
    q = EmbeddedQuery(store)

    def at0(op: str, by: tuple[str, ...] = ()) -> dict[tuple[tuple[str, str], ...], float]:
        found = q.aggregate(op, "g", T0, T0, 15, by=by)  # type: ignore[arg-type]
        return {tuple(sorted(s.labels.items())): s.points[0][1] for s in found}

    assert at0("sum", ("svc",))[(("svc", "a"),)] == 4.0
    assert math.isnan(at0("sum", ("svc",))[(("svc", "b"),)])  # a NaN input gives NaN, as in PromQL
    assert at0("max", ("svc",)) == {(("svc", "a"),): 3.0, (("svc", "b"),): 5.0}  # max skips NaN
    assert at0("min") == {(): 1.0}
    assert at0("count") == {(): 4.0}
    assert at0("avg", ("svc",))[(("svc", "a"),)] == 2.0


def test_aggregate_of_rates(store: MetricsStore) -> None:
    counter(store, labels(pod="1"), [0, 15, 30, 45, 60])
    counter(store, labels(pod="2"), [0, 30, 60, 90, 120])
    (s,) = EmbeddedQuery(store).aggregate("sum", "c_total", T0 + 60, T0 + 60, 15, rate_window=60)
    assert s.points[0][1] == pytest.approx(3.0)
    assert dict(s.labels) == {}


def buckets(store: MetricsStore, per_second: dict[str, float], **extra: str) -> None:
    for le, r in per_second.items():
        put(store, "lat_bucket", labels(le=le, **extra), [(i * 15, r * i * 15) for i in range(41)])


def test_histogram_quantile_interpolates_inside_the_bucket(store: MetricsStore) -> None:
    # Per-second rates: 1 below 0.1, 3 below 0.5, 4 in all.
    buckets(store, {"0.1": 1, "0.5": 3, "+Inf": 4}, pod="1")
    q = EmbeddedQuery(store)

    def quantile(p: float) -> float:
        (s,) = q.histogram_quantile(p, "lat_bucket", T0 + 600, T0 + 600, 15, 60)
        return s.points[0][1]

    assert quantile(0.5) == pytest.approx(0.3)  # rank 2: 0.1 + 0.4 * (1/2)
    assert quantile(0.1) == pytest.approx(0.04)  # rank 0.4 in the first bucket, which starts at 0
    assert quantile(0.99) == pytest.approx(0.5)  # in the +Inf bucket: the highest finite bound
    assert quantile(0.0) == 0.0
    assert quantile(1.0) == pytest.approx(0.5)
    # PromQL would answer -Inf / +Inf; both backends refuse a q outside [0, 1] instead (conformance).
    for bad in (-1.0, 2.0, math.nan):
        with pytest.raises(QueryError) as caught:
            quantile(bad)
        assert caught.value.field == "q"


def test_histogram_quantile_sums_buckets_across_series_and_groups_by(store: MetricsStore) -> None:
    buckets(store, {"0.1": 1, "0.5": 1, "+Inf": 2}, pod="1", svc="a")
    buckets(store, {"0.1": 0, "0.5": 2, "+Inf": 2}, pod="2", svc="a")
    buckets(store, {"1": 1, "+Inf": 1}, pod="3", svc="b")
    found = EmbeddedQuery(store).histogram_quantile(0.5, "lat_bucket", T0 + 600, T0 + 600, 15, 60, by=("svc",))
    by_svc = {s.labels["svc"]: s.points[0][1] for s in found}
    # svc a: buckets 1, 3, 4 -> rank 2 -> 0.1 + 0.4 * (1/2); svc b: rank 0.5 in [0, 1].
    assert by_svc == {"a": pytest.approx(0.3), "b": pytest.approx(0.5)}


def test_histogram_without_inf_bucket_is_nan(store: MetricsStore) -> None:
    buckets(store, {"0.1": 1, "0.5": 3})
    (s,) = EmbeddedQuery(store).histogram_quantile(0.5, "lat_bucket", T0 + 600, T0 + 600, 15, 60)
    assert math.isnan(s.points[0][1])


@pytest.mark.parametrize(
    ("call", "field"),
    [
        (lambda q: q.range("g", T0, T0 - 1, 15), "end"),
        (lambda q: q.range("g", T0, T0 + 10, 0), "step"),
        (lambda q: q.range("g", T0, T0 + 86400 * 30, 1), "step"),
        (lambda q: q.range("g", math.nan, T0, 1), "start"),
        (lambda q: q.rate("g", T0, T0, 15, -1), "window"),
        (lambda q: q.aggregate("median", "g", T0, T0, 15), "op"),
        (lambda q: q.histogram_quantile(math.nan, "g", T0, T0, 15, 60), "q"),
        (lambda q: q.histogram_quantile(0.5, "g", T0, T0, 15, 60, by=("le",)), "by"),
        (lambda q: q.range("g{", T0, T0, 15), "selector"),
    ],
)
def test_bad_queries_raise_query_error_naming_the_field(store: MetricsStore, call, field: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(QueryError) as caught:
        call(EmbeddedQuery(store))
    assert caught.value.field == field


def test_24_hours_at_15_seconds_is_answerable(store: MetricsStore) -> None:
    put(store, "g", labels(), [(i * 15.0, float(i)) for i in range(5761)])
    (s,) = EmbeddedQuery(store).range("g", T0, T0 + 86400, 15)
    assert len(s.points) == 5761
    assert s.points[-1] == (T0 + 86400, 5760.0)


@settings(max_examples=30, deadline=None)
@given(st.lists(st.floats(min_value=0, max_value=1e6), min_size=2, max_size=30))
def test_rate_of_any_monotonic_counter_is_never_negative(increments: list[float]) -> None:
    values, total = [], 0.0
    for inc in increments:
        total += inc
        values.append(total)
    with tempfile.TemporaryDirectory() as tmp:
        store = MetricsStore(Path(tmp) / "m.db", retention_s=10**8, downsample_after_s=None)
        put(store, "c_total", labels(), [(i * 15.0, v) for i, v in enumerate(values)])
        end = 15.0 * (len(values) - 1)
        (s,) = EmbeddedQuery(store).rate("c_total", T0 + end, T0 + end, 15, 15.0 * len(values))
        store.close()
    assert s.points[0][1] >= 0
    assert s.points[0][1] <= (total / 15.0) * 1.5 + 1e-9
