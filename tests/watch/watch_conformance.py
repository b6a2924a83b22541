"""One conformance suite for every :class:`MetricsQuery` backend, over one fixed data set.

A backend's fixture loads :func:`conformance_samples` into its store (the real Prometheus
fixture backfills them with ``promtool``; the embedded store inserts them), then calls
:func:`check_metrics_query_conformance` with a query over that store. Every expected answer below
is worked out by hand from the data set, with PromQL's meaning (Prometheus 2.x: a range
``[w]`` holds the samples in ``[t - w, t]``; a raw read takes the newest sample within the
5-minute look-back).

The data set: 41 scrapes, 15 s apart, from :data:`T0` (2026-01-01T00:00:00Z) to ``T0 + 600``.

* ``conf_requests_total`` counters: ``{service="api", code="200"}`` +3 a scrape (0.2/s),
  ``{service="api", code="500"}`` +1 a scrape (1/15 per s), ``{service="web", code="200"}``
  +2 a scrape, and ``{service="web", code="500"}`` +10 a scrape that resets to 5 at ``T0 + 300``.
* ``conf_queue_depth`` gauges: ``{instance="a"}`` = 10 + k, ``{instance="b"}`` = 2k at scrape k,
  ``{instance="c"}`` = 7 only up to ``T0 + 240`` (then it stops: a target gone away).
* ``conf_latency_seconds_bucket`` histograms, ``le`` = 0.1, 0.25, 0.5, 1, +Inf: ``service="api"``
  gains 4, 7, 9, 10, 10 (cumulative) a scrape, ``service="web"`` 1, 2, 3, 4, 5.
* ``conf_ratio{instance="a"}`` = 0.5, except NaN at scrape 10 and +Inf at scrape 20.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import pytest

from finpilot.watch import MetricsQuery, QueryError, Sample, Series

T0 = 1_767_225_600.0
"""The first scrape of the data set (2026-01-01T00:00:00Z)."""
SCRAPE = 15.0
SCRAPES = 41
END = T0 + SCRAPE * (SCRAPES - 1)
BUCKETS = ("0.1", "0.25", "0.5", "1", "+Inf")
_API_BUCKETS = (4, 7, 9, 10, 10)
_WEB_BUCKETS = (1, 2, 3, 4, 5)


def conformance_samples() -> list[Sample]:
    """The fixed data set, every series' samples in time order (series after series)."""
    out: list[Sample] = []

    def add(name: str, labels: dict[str, str], values: Sequence[float], *, until: int = SCRAPES) -> None:
        out.extend(Sample(name, labels, T0 + SCRAPE * k, values[k]) for k in range(until))

    ks = range(SCRAPES)
    add("conf_requests_total", {"service": "api", "code": "200"}, [3.0 * k for k in ks])
    add("conf_requests_total", {"service": "api", "code": "500"}, [1.0 * k for k in ks])
    add("conf_requests_total", {"service": "web", "code": "200"}, [2.0 * k for k in ks])
    # Scrape 20 (T0 + 300) is a restart: the counter starts again from 5.
    restarted = [10.0 * k if k < 20 else 5.0 + 10 * (k - 20) for k in ks]
    add("conf_requests_total", {"service": "web", "code": "500"}, restarted)
    add("conf_queue_depth", {"instance": "a"}, [10.0 + k for k in ks])
    add("conf_queue_depth", {"instance": "b"}, [2.0 * k for k in ks])
    add("conf_queue_depth", {"instance": "c"}, [7.0] * SCRAPES, until=17)
    for service, per_scrape in (("api", _API_BUCKETS), ("web", _WEB_BUCKETS)):
        for le, gain in zip(BUCKETS, per_scrape, strict=True):
            add("conf_latency_seconds_bucket", {"service": service, "le": le}, [float(gain * k) for k in ks])
    add("conf_ratio", {"instance": "a"}, [math.nan if k == 10 else math.inf if k == 20 else 0.5 for k in ks])
    return out


def _one(found: list[Series], **labels: str) -> Series:
    matching = [s for s in found if dict(s.labels) == labels]
    assert len(matching) == 1, f"expected one series with labels {labels}, got {[dict(s.labels) for s in found]}"
    return matching[0]


def _close(points: Sequence[tuple[float, float]], expected: Sequence[tuple[float, float]]) -> None:
    assert len(points) == len(expected), f"{len(points)} points, expected {len(expected)}: {points}"
    for (t, v), (et, ev) in zip(points, expected, strict=True):
        assert math.isclose(t, et, abs_tol=1e-6), (t, et)
        assert math.isclose(v, ev, rel_tol=1e-9, abs_tol=1e-9), f"at {t - T0:+.0f}s: {v} != {ev}"


def _grid(start: float, end: float, step: float) -> list[float]:
    return [start + i * step for i in range(int((end - start) / step) + 1)]


def check_metrics_query_conformance(query: MetricsQuery, *, special_values: bool = True) -> None:
    """Assert ``query`` answers the fixed data set as PromQL does; ``special_values`` checks NaN and +Inf."""
    assert query.describe()
    _check_series(query)
    _check_range(query, special_values)
    _check_rate(query)
    _check_aggregate(query)
    _check_quantile(query)
    _check_bad_input(query)


def _check_series(query: MetricsQuery) -> None:
    found = query.series('conf_requests_total{service="api"}', T0, END)
    assert {s.name for s in found} == {"conf_requests_total"}
    assert sorted(dict(s.labels)["code"] for s in found) == ["200", "500"]
    assert all("__name__" not in s.labels and not s.points for s in found)
    assert len(query.series("conf_queue_depth", T0, END)) == 3
    # instance c stopped at T0 + 240: a range after that does not list it.
    late = query.series("conf_queue_depth", T0 + 400, END)
    assert sorted(dict(s.labels)["instance"] for s in late) == ["a", "b"]
    assert query.series('conf_queue_depth{instance=~"a|b", instance!="b"}', T0, END)[0].labels == {"instance": "a"}
    assert query.series("conf_no_such_metric", T0, END) == []


def _check_range(query: MetricsQuery, special_values: bool) -> None:
    grid = _grid(T0, END, 60.0)
    found = query.range("conf_queue_depth", T0, END, 60.0)
    a = _one(found, instance="a")
    assert a.name == "conf_queue_depth"
    _close(a.points, [(t, 10.0 + (t - T0) / SCRAPE) for t in grid])
    # Between scrapes a step takes the newest sample before it (T0 + 7 sees scrape 0, T0 + 22 scrape 1).
    b = _one(query.range('conf_queue_depth{instance="b"}', T0 + 7, T0 + 37, 15.0), instance="b")
    _close(b.points, [(T0 + 7, 0.0), (T0 + 22, 2.0), (T0 + 37, 4.0)])
    # instance c's last sample (T0 + 240) is visible for the 5-minute look-back, then gone.
    c = _one(found, instance="c")
    times = [t - T0 for t, _ in c.points]
    assert 480.0 in times, times
    assert 600.0 not in times, times
    assert all(v == 7.0 for _, v in c.points)
    # A range longer than 11,000 steps still comes back whole (Prometheus needs it chunked).
    fine = _one(query.range('conf_queue_depth{instance="a"}', T0, END, 0.05), instance="a")
    assert len(fine.points) == 12_001
    assert fine.points[0] == (T0, 10.0)
    assert fine.points[-1] == (END, 50.0)
    assert all(b_[0] > a_[0] for a_, b_ in zip(fine.points, fine.points[1:], strict=False))
    if special_values:
        ratio = _one(query.range("conf_ratio", T0 + 135, T0 + 300, 15.0), instance="a")
        values = [v for _, v in ratio.points]
        assert values[0] == 0.5, values
        assert math.isnan(values[1]), values
        assert values[-2:] == [0.5, math.inf], values


def _check_rate(query: MetricsQuery) -> None:
    start = T0 + 60
    grid = _grid(start, END, SCRAPE)
    found = query.rate("conf_requests_total", start, END, SCRAPE, 60.0)
    assert len(found) == 4
    assert all("__name__" not in s.labels for s in found)
    _close(_one(found, service="api", code="200").points, [(t, 0.2) for t in grid])
    _close(_one(found, service="api", code="500").points, [(t, 1 / 15) for t in grid])

    # The restart at T0 + 300 (190 -> 5): a window holding that interval counts 5 for it, not 10.
    def web_errors(t: float) -> float:
        return (40.0 - 5.0) / 60.0 if t - 60 < T0 + 300 <= t else 40.0 / 60.0

    _close(_one(found, service="web", code="500").points, [(t, web_errors(t)) for t in grid])


def _check_aggregate(query: MetricsQuery) -> None:
    grid = _grid(T0, T0 + 120, 30.0)
    summed = query.aggregate("sum", 'conf_queue_depth{instance=~"a|b"}', T0, T0 + 120, 30.0)
    assert len(summed) == 1
    assert dict(summed[0].labels) == {}
    _close(summed[0].points, [(t, 10.0 + 3 * (t - T0) / SCRAPE) for t in grid])
    ab = 'conf_queue_depth{instance!="c"}'
    # a (10 + k) stays above b (2k) until k = 10.
    _close(query.aggregate("max", ab, T0, T0 + 120, 30.0)[0].points, [(t, 10.0 + (t - T0) / SCRAPE) for t in grid])
    _close(query.aggregate("min", ab, T0 + 120, T0 + 180, 60.0)[0].points, [(T0 + 120, 16.0), (T0 + 180, 22.0)])
    _close(query.aggregate("avg", ab, T0, T0, 30.0)[0].points, [(T0, 5.0)])
    _close(query.aggregate("count", "conf_queue_depth", T0, T0, 30.0)[0].points, [(T0, 3.0)])
    rates = query.aggregate("sum", "conf_requests_total", T0 + 60, T0 + 120, 60.0, by=("service",), rate_window=60.0)
    assert sorted(dict(s.labels)["service"] for s in rates) == ["api", "web"]
    _close(_one(rates, service="api").points, [(T0 + 60, 0.2 + 1 / 15), (T0 + 120, 0.2 + 1 / 15)])
    _close(_one(rates, service="web").points, [(T0 + 60, 2 / 15 + 10 / 15), (T0 + 120, 2 / 15 + 10 / 15)])


def _check_quantile(query: MetricsQuery) -> None:
    sel = "conf_latency_seconds_bucket"
    at = (T0 + 120, T0 + 180)

    def one(q: float, by: Sequence[str] = (), **labels: str) -> list[tuple[float, float]]:
        return list(_one(query.histogram_quantile(q, sel, at[0], at[1], 60.0, 60.0, by=by), **labels).points)

    # Per scrape api gains 4, 7, 9, 10, 10 in le 0.1, 0.25, 0.5, 1, +Inf: the median (rank 5) lies a
    # third into (0.1, 0.25]; p99 (rank 9.9) 90 % into (0.5, 1]; p20 (rank 2) half-way into [0, 0.1].
    _close(one(0.5, ("service",), service="api"), [(t, 0.15) for t in at])
    _close(one(0.99, ("service",), service="api"), [(t, 0.95) for t in at])
    _close(one(0.2, ("service",), service="api"), [(t, 0.05) for t in at])
    # web's p99 (rank 4.95 of 5) falls in +Inf: the answer is the highest finite bound.
    _close(one(0.99, ("service",), service="web"), [(t, 1.0) for t in at])
    _close(one(0.5, ("service",), service="web"), [(t, 0.375) for t in at])
    # Both together gain 5, 9, 12, 14, 15: the median (rank 7.5) is 62.5 % into (0.1, 0.25].
    _close(one(0.5), [(t, 0.19375) for t in at])
    only_api = query.histogram_quantile(0.5, 'conf_latency_seconds_bucket{service="api"}', at[0], at[1], 60.0, 60.0)
    _close(_one(only_api).points, [(t, 0.15) for t in at])


def _check_bad_input(query: MetricsQuery) -> None:
    bad_calls = [
        lambda: query.range("conf_queue_depth{instance=", T0, END, 15.0),
        lambda: query.range('conf_queue_depth{instance="a"}) or vector(1', T0, END, 15.0),
        lambda: query.range("conf_queue_depth", END, T0, 15.0),
        lambda: query.range("conf_queue_depth", T0, END, 0.0),
        lambda: query.rate("conf_requests_total", T0, END, 15.0, -1.0),
        lambda: query.aggregate("sum", "conf_queue_depth", T0, END, 15.0, by=("not a label",)),
        lambda: query.histogram_quantile(1.5, "conf_latency_seconds_bucket", T0, END, 15.0, 60.0),
    ]
    for call in bad_calls:
        with pytest.raises(QueryError) as caught:
            call()
        assert caught.value.field, caught.value
