"""The Metrics page: charts of the demo stack's metrics, or of any selector, drawn on the server.

``GET /watch/metrics`` (READ) shows the demo panels (request rate, p99 latency per replica,
errors, replicas ready, scrape health), or one chart for ``?selector=`` with the same parameters
as ``/api/v1/watch/query``. An alert's link points here as ``?series=SELECTOR&start=&end=`` (the
alerting series and its window), so a person lands on the chart that fired: the window is marked
on the chart and widened to at least :data:`ALERT_CONTEXT_S` of history before the end (and before
now), so a window of one instant, or a proactive alert's window in the future, still shows data.
Charts are inline SVG (:mod:`finpilot.console._chart`).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from finpilot.console._api_watch import NO_METRICS_FIX, time_range
from finpilot.console._chart import Chart, ChartBand, ChartLine, ChartMark, legend, render_chart
from finpilot.console._pages import login_redirect, page_principal, render
from finpilot.console._state import NavItem, console_state
from finpilot.console._watch_query import (
    DEMO_PANELS,
    MAX_STEP,
    MAX_TIME,
    Panel,
    QueryKind,
    run_query,
    series_label,
)
from finpilot.console._watch_scale_view import latest_forecast
from finpilot.core import FinpilotError
from finpilot.watch import MetricsQuery

PAGE = NavItem("Metrics", "/watch/metrics")
"""The Metrics page's navigation entry."""

ALERT_CONTEXT_S = 900.0
"""The least history an alert link's chart shows."""

router = APIRouter(tags=["watch"])


def alert_range(start: float, end: float, now: float) -> tuple[float, float]:
    """An alert window widened to at least :data:`ALERT_CONTEXT_S` before its end and before now."""
    return min(start, end - ALERT_CONTEXT_S, now - ALERT_CONTEXT_S), max(end, start)


REQUESTS_METRIC = "finpilot_router_requests_total"
"""The panel that also draws the autoscaler's latest forecast (its load signal)."""


def panel_view(
    query: MetricsQuery,
    panel: Panel,
    start: float,
    end: float,
    step: float,
    marks: list[ChartMark],
    forecast: tuple[ChartLine, ChartBand] | None = None,
) -> dict[str, Any]:
    """One panel's chart, legend and any error, ready for the template; ``forecast`` drawn on it too."""
    try:
        found = run_query(query, panel, start, end, step)
    except FinpilotError as exc:
        return {"title": panel.title, "error": str(exc), "svg": None, "legend": []}
    extra = [] if forecast is None else [forecast[0]]
    chart = Chart(
        lines=[*(ChartLine(series_label(s), s.points) for s in found[:16]), *extra],
        bands=[] if forecast is None else [forecast[1]],
        marks=marks,
        unit=panel.unit,
    )
    return {
        "title": panel.title,
        "error": None,
        "svg": render_chart(chart),
        "legend": legend(chart),
        "hidden": max(0, len(found) - 16),
    }


@router.get("/watch/metrics", name="metrics_page", include_in_schema=False)
async def metrics_page(
    request: Request,
    selector: Annotated[str | None, Query(max_length=1000)] = None,
    series: Annotated[str | None, Query(max_length=1000, description="An alert's series (a full selector)")] = None,
    kind: QueryKind = "raw",
    by: Annotated[str, Query(max_length=200)] = "",
    op: Literal["sum", "avg", "min", "max", "count"] | None = None,
    quantile: Annotated[float, Query(ge=0, le=1)] = 0.99,
    window: Annotated[float, Query(gt=0, le=86_400)] = 60.0,
    start: Annotated[float | None, Query(ge=0, le=MAX_TIME, description="Unix seconds")] = None,
    end: Annotated[float | None, Query(ge=0, le=MAX_TIME, description="Unix seconds")] = None,
    step: Annotated[float | None, Query(gt=0, le=MAX_STEP, description="Seconds between points")] = None,
) -> Response:
    """The demo panels, or one chart of ``selector`` (or of an alert's ``series`` over its window)."""
    principal = page_principal(request)
    if principal is None:
        return login_redirect(request)
    state = console_state(request)
    now = state.clock().timestamp()
    alert_window: tuple[float, float] | None = None
    if series and not selector:
        selector = series
        if start is not None and end is not None:
            alert_window = (start, end)
            start, end = alert_range(start, end, now)
    start, end, step = time_range(now, start, end, step)
    panels: list[dict[str, Any]] = []
    backend = state.watch_metrics
    if backend is not None:
        groups = tuple(label.strip() for label in by.split(",") if label.strip())
        chosen = (
            [Panel(selector, selector, kind, by=groups, op=op, quantile=quantile, window=window)]
            if selector
            else list(DEMO_PANELS)
        )
        marks = [ChartMark(at, label) for at, label in state.watch_marks(start, end)] if state.watch_marks else []
        if alert_window is not None:
            marks += [ChartMark(alert_window[0], "alert window start"), ChartMark(alert_window[1], "alert window end")]
        # The autoscaler's newest forecast goes on the request-rate panel, the load it forecasts.
        forecast = await run_in_threadpool(latest_forecast, state.ledger, start, end)
        for panel in chosen:
            drawn = forecast if panel.selector.startswith(REQUESTS_METRIC) and panel.kind == "rate" else None
            panels.append(await run_in_threadpool(panel_view, backend, panel, start, end, step, marks, drawn))
    context = {
        "backend": backend.describe() if backend is not None else None,
        "no_metrics_fix": NO_METRICS_FIX,
        "panels": panels,
        "selector": selector or "",
        "alert_window": alert_window,
        "kind": kind,
        "by": by,
        "start": start,
        "end": end,
        "step": step,
    }
    return render(request, "watch_metrics.html", context, principal=principal)
