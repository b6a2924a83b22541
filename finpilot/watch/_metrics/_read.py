"""One computed read: raw values, a rate or a histogram quantile of a selector, maybe aggregated.

Alert rules, live detection and the console's charts each name a read the same way (a selector,
a kind, a window, a quantile, an aggregation and its labels); this turns that into the one
:class:`MetricsQuery` call it means, so the three always compute the same thing.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

from finpilot.watch._metrics._types import Aggregation, MetricsQuery, Series

ReadKind = Literal["raw", "rate", "quantile"]
"""What a read computes: the raw values, a per-second rate of counters, or a histogram quantile."""


def read_computed(
    query: MetricsQuery,
    selector: str,
    kind: ReadKind,
    start: float,
    end: float,
    step: float,
    *,
    window: float,
    quantile: float = 0.99,
    aggregate: Aggregation | None = None,
    by: Sequence[str] = (),
) -> list[Series]:
    """``kind`` of ``selector`` over ``[start, end]`` at ``step`` (``window`` for rates and quantiles).

    A quantile sums its buckets by ``by`` itself; raw values and rates are aggregated with
    ``aggregate`` by ``by`` when one is given.
    """
    if kind == "quantile":
        return query.histogram_quantile(quantile, selector, start, end, step, window, by)
    rate_window = window if kind == "rate" else None
    if aggregate is not None:
        return query.aggregate(aggregate, selector, start, end, step, by, rate_window=rate_window)
    if rate_window is not None:
        return query.rate(selector, start, end, step, rate_window)
    return query.range(selector, start, end, step)
