"""``EmbeddedQuery``: the :class:`~finpilot.watch.MetricsQuery` interface over the embedded store.

Results follow Prometheus' conventions so that this backend and a real Prometheus agree:
``range`` keeps the metric name; ``rate``, the aggregations and ``histogram_quantile`` drop it
(``Series.name == ""``), as PromQL drops ``__name__`` from any computed value. An aggregation's
series carry only the ``by`` labels. A series with no point in the whole range is left out.
Series come back sorted by name, then labels, so output is stable. Values may be NaN or infinite
(as scraped, or as PromQL computes them); :func:`~finpilot.watch.finite_points` drops those. The
arithmetic is in :mod:`finpilot.watch._metrics._evaluate`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from finpilot.watch._errors import QueryError
from finpilot.watch._metrics._evaluate import (
    Grid,
    aggregate_grids,
    check_window,
    instant_grid,
    quantile_grid,
    rate_grid,
    steps_ms,
)
from finpilot.watch._metrics._promql import parse_selector
from finpilot.watch._metrics._promql_text import by_clause
from finpilot.watch._metrics._store import MetricsStore, StoredSeries
from finpilot.watch._metrics._types import LOOKBACK_S, Aggregation, Series

_OPS = ("sum", "avg", "min", "max", "count")

LabelKey = tuple[tuple[str, str], ...]
Steps = np.ndarray[Any, np.dtype[np.int64]]


def _sorted(found: list[Series]) -> list[Series]:
    return sorted(found, key=lambda s: (s.name, sorted(s.labels.items())))


def _points(at: Steps, grid: Grid) -> tuple[tuple[float, float], ...]:
    values, present = grid
    return tuple(zip((at[present] / 1000).tolist(), values[present].tolist(), strict=True))


class EmbeddedQuery:
    """Range reads and aggregations, with PromQL semantics, over a :class:`MetricsStore`."""

    def __init__(self, store: MetricsStore, *, lookback: float = LOOKBACK_S) -> None:
        self.store = store
        self.lookback_ms = round(lookback * 1000)

    def describe(self) -> str:
        """Where the samples come from, e.g. ``sqlite:/data/metrics.db``."""
        return self.store.describe()

    def _select(self, selector: str) -> list[StoredSeries]:
        parsed = parse_selector(selector)
        found = [s for s in self.store.find_series(parsed.exact_name()) if parsed.matches(s.name, s.labels)]
        # Prometheus' order (labels.Compare over the sorted label set, __name__ included), so that
        # aggregations add in the same order and round the same way.
        return sorted(found, key=lambda s: sorted([*s.labels.items(), ("__name__", s.name)]))

    def series(self, selector: str, start: float, end: float) -> list[Series]:
        """The series that match ``selector`` and have samples in ``[start, end]`` (no points)."""
        steps_ms(start, end, max(end - start, 1.0))  # validates the range
        return _sorted(
            [Series(s.name, dict(s.labels)) for s in self._select(selector) if self.store.has_points(s.id, start, end)]
        )

    def _instant(self, selector: str, at: Steps) -> list[tuple[StoredSeries, Grid]]:
        found = []
        chosen = self._select(selector)
        points = self.store.points_many([s.id for s in chosen], int(at[0]) - self.lookback_ms, int(at[-1]))
        for s in chosen:
            times, values = points[s.id]
            grid = instant_grid(times, values, at, self.lookback_ms)
            if grid[1].any():
                found.append((s, grid))
        return found

    def _rates(self, selector: str, at: Steps, window: float) -> list[tuple[StoredSeries, Grid]]:
        window_ms = check_window(window)
        found = []
        chosen = self._select(selector)
        points = self.store.points_many([s.id for s in chosen], int(at[0]) - window_ms, int(at[-1]))
        for s in chosen:
            times, values = points[s.id]
            grid = rate_grid(times, values, at, window_ms)
            if grid[1].any():
                found.append((s, grid))
        return found

    def range(self, selector: str, start: float, end: float, step: float) -> list[Series]:
        """Each matching series at every step: its newest sample within the look-back."""
        at = steps_ms(start, end, step)
        return _sorted([Series(s.name, dict(s.labels), _points(at, g)) for s, g in self._instant(selector, at)])

    def rate(self, selector: str, start: float, end: float, step: float, window: float) -> list[Series]:
        """``rate(selector[window])`` at every step; series keep their labels and lose their name."""
        at = steps_ms(start, end, step)
        return _sorted([Series("", dict(s.labels), _points(at, g)) for s, g in self._rates(selector, at, window)])

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
        at = steps_ms(start, end, step)
        inputs = self._instant(selector, at) if rate_window is None else self._rates(selector, at, rate_window)
        found = []
        for labels, grids in _group(inputs, by).items():
            found.append(Series("", dict(labels), _points(at, aggregate_grids(op, grids))))
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
        at = steps_ms(start, end, step)
        per_group: dict[LabelKey, list[tuple[float, Grid]]] = {}
        # sum by (le, by...): the bucket bound stays, every other label not in ``by`` goes.
        for labels, grids in _group(self._rates(selector, at, window), (*by, "le")).items():
            plain = dict(labels)
            try:
                bound = float(plain.pop("le"))
            except (KeyError, ValueError):
                continue  # a series without a numeric 'le' is not a bucket (Prometheus drops it too)
            per_group.setdefault(tuple(sorted(plain.items())), []).append((bound, aggregate_grids("sum", grids)))
        found = []
        for labels, buckets in per_group.items():
            counts = np.vstack([g[0] for _, g in buckets])
            present = np.vstack([g[1] for _, g in buckets])
            grid = quantile_grid(q, [b for b, _ in buckets], counts, present)
            found.append(Series("", dict(labels), _points(at, grid)))
        return _sorted(found)


def _group(inputs: list[tuple[StoredSeries, Grid]], by: Sequence[str]) -> dict[LabelKey, list[Grid]]:
    """The input grids gathered by the values of the ``by`` labels."""
    wanted = set(by)
    groups: dict[LabelKey, list[Grid]] = {}
    for s, grid in inputs:
        key = tuple(sorted((k, v) for k, v in s.labels.items() if k in wanted))
        groups.setdefault(key, []).append(grid)
    return groups
