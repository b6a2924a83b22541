"""``EmbeddedQuery``: the :class:`~finpilot.watch.MetricsQuery` interface over the embedded store.

Results follow Prometheus' conventions so that this backend and a real Prometheus agree:
``range`` keeps the metric name; ``rate``, the aggregations and ``histogram_quantile`` drop it
(``Series.name == ""``), as PromQL drops ``__name__`` from any computed value. An aggregation's
series carry only the ``by`` labels. A series with no point in the whole range is left out.
Series come back sorted by name, then labels, so output is stable. The arithmetic is in
:mod:`finpilot.watch._metrics._evaluate`.
"""

from __future__ import annotations

from collections.abc import Sequence

from finpilot.watch._errors import QueryError
from finpilot.watch._metrics._evaluate import (
    aggregate_values,
    bucket_quantile,
    check_window,
    extrapolated_rate,
    instant_values,
    steps,
)
from finpilot.watch._metrics._promql import parse_selector
from finpilot.watch._metrics._promql_text import by_clause
from finpilot.watch._metrics._store import MetricsStore, StoredSeries
from finpilot.watch._metrics._types import LOOKBACK_S, Aggregation, Series

_OPS = ("sum", "avg", "min", "max", "count")

LabelKey = tuple[tuple[str, str], ...]


def _key(labels: dict[str, str] | LabelKey) -> LabelKey:
    return tuple(sorted(labels.items())) if isinstance(labels, dict) else labels


def _sorted(found: list[Series]) -> list[Series]:
    return sorted(found, key=lambda s: (s.name, sorted(s.labels.items())))


class EmbeddedQuery:
    """Range reads and aggregations, with PromQL semantics, over a :class:`MetricsStore`."""

    def __init__(self, store: MetricsStore, *, lookback: float = LOOKBACK_S) -> None:
        self.store = store
        self.lookback = lookback

    def describe(self) -> str:
        """Where the samples come from, e.g. ``sqlite:/data/metrics.db``."""
        return self.store.describe()

    def _select(self, selector: str) -> list[StoredSeries]:
        parsed = parse_selector(selector)
        return [s for s in self.store.find_series(parsed.exact_name()) if parsed.matches(s.name, s.labels)]

    def series(self, selector: str, start: float, end: float) -> list[Series]:
        """The series that match ``selector`` and have samples in ``[start, end]`` (no points)."""
        steps(start, end, max(end - start, 1.0))  # validates the range
        return _sorted(
            [Series(s.name, dict(s.labels)) for s in self._select(selector) if self.store.has_points(s.id, start, end)]
        )

    def range(self, selector: str, start: float, end: float, step: float) -> list[Series]:
        """Each matching series at every step: its newest sample within the look-back."""
        at = steps(start, end, step)
        found = []
        for s in self._select(selector):
            times, values = self.store.points(s.id, start - self.lookback, end)
            points = instant_values(times, values, at, self.lookback)
            if points:
                found.append(Series(s.name, dict(s.labels), tuple(points)))
        return _sorted(found)

    def rate(self, selector: str, start: float, end: float, step: float, window: float) -> list[Series]:
        """``rate(selector[window])`` at every step; series keep their labels and lose their name."""
        return _sorted(
            [
                Series("", dict(labels), tuple(points))
                for labels, points in self._rates(selector, start, end, step, window)
            ]
        )

    def _rates(
        self, selector: str, start: float, end: float, step: float, window: float
    ) -> list[tuple[LabelKey, list[tuple[float, float]]]]:
        at = steps(start, end, step)
        check_window(window)
        found = []
        for s in self._select(selector):
            times, values = self.store.points(s.id, start - window, end)
            points = []
            for t in at:
                r = extrapolated_rate(times, values, t, window)
                if r is not None:
                    points.append((t, r))
            if points:
                found.append((_key(dict(s.labels)), points))
        return found

    def _inputs(
        self, selector: str, start: float, end: float, step: float, rate_window: float | None
    ) -> list[tuple[LabelKey, list[tuple[float, float]]]]:
        if rate_window is not None:
            return self._rates(selector, start, end, step, rate_window)
        return [(_key(dict(s.labels)), list(s.points)) for s in self.range(selector, start, end, step)]

    def aggregate(
        self,
        op: Aggregation,
        selector: str,
        start: float,
        end: float,
        step: float,
        by: Sequence[str] = (),
        rate_window: float | None = None,
    ) -> list[Series]:
        """``op by (by) (selector)``, or of ``rate(selector[rate_window])`` when a window is given."""
        if op not in _OPS:
            raise QueryError(f"unknown aggregation {op!r}", field="op", fix=f"use one of {', '.join(_OPS)}")
        # The same label check PrometheusQuery makes, so both backends refuse the same input.
        by_clause(by)
        groups = _group(self._inputs(selector, start, end, step, rate_window), by)
        found = []
        for labels, per_step in groups.items():
            points = tuple((t, aggregate_values(op, vals)) for t, vals in sorted(per_step.items()))
            found.append(Series("", dict(labels), points))
        return _sorted(found)

    def histogram_quantile(
        self,
        q: float,
        selector: str,
        start: float,
        end: float,
        step: float,
        window: float,
        by: Sequence[str] = (),
    ) -> list[Series]:
        """``histogram_quantile(q, sum by (le, by) (rate(selector[window])))``; ``selector`` names ``_bucket``s."""
        # PromQL itself answers q > 1 with +Inf; both backends refuse it instead, with the same error.
        if not (isinstance(q, int | float) and 0.0 <= q <= 1.0):
            raise QueryError(f"quantile q is {q!r}", field="q", fix="give q between 0 and 1 (0.99 for p99)")
        if "le" in by:
            raise QueryError("'by' names 'le'", field="by", fix="leave 'le' out: the buckets are always kept apart")
        by_clause(by)
        # sum by (le, by...): the bucket bound stays, every other label not in ``by`` goes.
        rates = [
            (labels, points)
            for labels, points in self._rates(selector, start, end, step, window)
            if dict(labels).get("le")
        ]
        grouped = _group(rates, (*by, "le"))
        per_group: dict[LabelKey, dict[float, list[tuple[float, float]]]] = {}
        for labels, per_step in grouped.items():
            plain = dict(labels)
            try:
                bound = float(plain.pop("le"))
            except ValueError:
                continue  # an 'le' that is not a number is not a bucket (Prometheus drops it too)
            target = per_group.setdefault(_key(plain), {})
            for t, vals in per_step.items():
                target.setdefault(t, []).append((bound, aggregate_values("sum", vals)))
        found = []
        for labels, per_step_buckets in per_group.items():
            points = tuple((t, bucket_quantile(q, buckets)) for t, buckets in sorted(per_step_buckets.items()))
            found.append(Series("", dict(labels), points))
        return _sorted(found)


def _group(
    inputs: list[tuple[LabelKey, list[tuple[float, float]]]], by: Sequence[str]
) -> dict[LabelKey, dict[float, list[float]]]:
    """Gather the values of every input series by the ``by`` labels and step time."""
    wanted = set(by)
    groups: dict[LabelKey, dict[float, list[float]]] = {}
    for labels, points in inputs:
        key = tuple((k, v) for k, v in labels if k in wanted)
        per_step = groups.setdefault(key, {})
        for t, v in points:
            per_step.setdefault(t, []).append(v)
    return groups
