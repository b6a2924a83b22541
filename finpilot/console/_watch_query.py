"""One metrics read as the console asks it: a panel or an API query, answered through ``MetricsQuery``.

The Metrics page and ``/api/v1/watch/query`` both go through :func:`run_query`, so the page shows
exactly what the API returns, and both read whichever backend is configured (the embedded store,
or a real Prometheus when ``watch.prometheus_url`` is set).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

from finpilot.watch import MetricsQuery, QueryError, Series, read_computed

QueryKind = Literal["raw", "rate", "quantile"]
"""What to compute: raw values, a per-second rate of counters, or a quantile of histogram buckets."""

MAX_TIME = 4_102_444_800.0
"""The latest time a query may name (2100-01-01, Unix seconds): past it, times are not times."""

MAX_STEP = 366 * 86_400.0
"""The longest step a query may ask for (a year)."""

MAX_POINTS = 11_000
"""Most steps one query may ask for (Prometheus' own limit per series)."""


@dataclass(frozen=True)
class Panel:
    """One chart: a selector and what to compute from it."""

    title: str
    selector: str
    kind: QueryKind = "raw"
    by: Sequence[str] = field(default_factory=tuple)
    op: Literal["sum", "avg", "min", "max", "count"] | None = None
    quantile: float = 0.99
    window: float = 60.0
    unit: str = ""


DEMO_PANELS: tuple[Panel, ...] = (
    Panel("Requests per second, by service", "finpilot_router_requests_total", "rate", by=("service",), op="sum"),
    Panel(
        "p99 latency, by replica",
        "finpilot_router_upstream_seconds_bucket",
        "quantile",
        by=("service", "backend"),
        unit="s",
    ),
    Panel("Replica connection errors per second", "finpilot_router_errors_total", "rate", by=("backend",), op="sum"),
    Panel("Replicas taking traffic, by service", "finpilot_router_backend_ready", by=("service",), op="sum"),
    Panel("Scrape targets up", "up", by=("job", "instance")),
)
"""The Metrics page's panels when no query is given: the demo stack's router and scrape health."""


def run_query(query: MetricsQuery, panel: Panel, start: float, end: float, step: float) -> list[Series]:
    """Answer ``panel`` over ``[start, end]`` at ``step``; :class:`QueryError` names a bad field."""
    if step <= 0:
        raise QueryError("step must be positive", field="step", fix="give a step in seconds, e.g. 15")
    if end <= start:
        raise QueryError("the range is empty", field="start", fix="give a start before the end")
    if (end - start) / step > MAX_POINTS:
        raise QueryError(
            f"{(end - start) / step:.0f} steps asked, more than {MAX_POINTS}",
            field="step",
            fix=f"use a step of at least {(end - start) / MAX_POINTS:.0f} s for this range",
        )
    if panel.kind == "quantile" and not 0 <= panel.quantile <= 1:
        raise QueryError("a quantile lies in [0, 1]", field="quantile", fix="e.g. 0.99")
    return read_computed(
        query,
        panel.selector,
        panel.kind,
        start,
        end,
        step,
        window=panel.window,
        quantile=panel.quantile,
        aggregate=panel.op,
        by=panel.by,
    )


def series_label(series: Series) -> str:
    """``name{a="x", b="y"}``, the way Prometheus shows a series."""
    inner = ", ".join(f'{k}="{v}"' for k, v in sorted(series.labels.items()))
    return f"{series.name}{{{inner}}}" if inner else series.name or "{}"


def auto_step(span: float, points: int = 240) -> float:
    """A round step giving about ``points`` points over ``span`` seconds (at least 1 s)."""
    raw = max(span / points, 1.0)
    for nice in (1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 21600, 86400):
        if raw <= nice:
            return float(nice)
    return float(round(raw))
