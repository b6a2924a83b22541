"""REST API of the Metrics page: range queries through the configured metrics backend (READ).

::

    GET /api/v1/watch/query?selector=...&kind=raw|rate|quantile&by=a,b&op=sum&start=&end=&step=

Times are Unix seconds; without them the last hour is read at a step giving about 240 points.
Values that are not finite (NaN, ±Inf, which Prometheus allows) are returned as ``null``. With no
metrics backend configured the call answers 503 saying what to set.
"""

from __future__ import annotations

import math
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from finpilot.console._auth import require
from finpilot.console._http import ERRORS
from finpilot.console._roles import Permission
from finpilot.console._state import ConsoleState, console_state
from finpilot.console._tokens import Principal
from finpilot.console._watch_query import MAX_STEP, MAX_TIME, Panel, QueryKind, auto_step, run_query
from finpilot.core import UnavailableError
from finpilot.watch import MetricsQuery

router = APIRouter(prefix="/api/v1/watch", tags=["watch"], responses=ERRORS)

Reader = Annotated[Principal, Depends(require(Permission.READ))]

NO_METRICS_FIX = "run `finpilot up` (it scrapes the demo stack), or set watch.prometheus_url to a real Prometheus"
"""What to do when the console has no metrics backend."""


class SeriesOut(BaseModel):
    """One series over the range: its name, labels and points ``[time, value or null]``."""

    model_config = ConfigDict(extra="forbid")

    name: str
    labels: dict[str, str]
    points: list[tuple[float, float | None]]


class QueryResult(BaseModel):
    """A range query's answer, with what was asked and which backend answered."""

    model_config = ConfigDict(extra="forbid")

    backend: str = Field(description="Where the samples came from, e.g. sqlite:/path or prometheus:http://...")
    selector: str
    kind: QueryKind
    start: float
    end: float
    step: float
    series: list[SeriesOut]


def metrics_backend(state: ConsoleState) -> MetricsQuery:
    """The console's metrics backend; :class:`UnavailableError` (503) when none is configured."""
    if state.watch_metrics is None:
        raise UnavailableError("no metrics backend is configured", field="watch", fix=NO_METRICS_FIX)
    return state.watch_metrics


def time_range(now: float, start: float | None, end: float | None, step: float | None) -> tuple[float, float, float]:
    """The range asked for, defaulting to the last hour ending now at an automatic step."""
    end = now if end is None else end
    start = end - 3600.0 if start is None else start
    return start, end, step if step is not None else auto_step(end - start)


@router.get("/query", response_model=QueryResult, summary="Range query over the metrics backend")
async def query(
    request: Request,
    _: Reader,
    selector: Annotated[str, Query(max_length=1000, description='PromQL selector, e.g. up{job="payments"}')],
    kind: QueryKind = "raw",
    by: Annotated[str, Query(max_length=200, description="Comma-separated labels to group by")] = "",
    op: Literal["sum", "avg", "min", "max", "count"] | None = None,
    quantile: Annotated[float, Query(ge=0, le=1)] = 0.99,
    window: Annotated[float, Query(gt=0, le=86_400, description="Rate window, seconds")] = 60.0,
    start: Annotated[float | None, Query(ge=0, le=MAX_TIME, description="Unix seconds")] = None,
    end: Annotated[float | None, Query(ge=0, le=MAX_TIME, description="Unix seconds")] = None,
    step: Annotated[float | None, Query(gt=0, le=MAX_STEP, description="Seconds between points")] = None,
) -> QueryResult:
    """Evaluate the selector over the range (raw, rate or histogram quantile; optionally aggregated)."""
    state = console_state(request)
    backend = metrics_backend(state)
    start, end, step = time_range(state.clock().timestamp(), start, end, step)
    groups = tuple(label.strip() for label in by.split(",") if label.strip())
    panel = Panel(selector, selector, kind, by=groups, op=op, quantile=quantile, window=window)
    found = await run_in_threadpool(run_query, backend, panel, start, end, step)
    return QueryResult(
        backend=backend.describe(),
        selector=selector,
        kind=kind,
        start=start,
        end=end,
        step=step,
        series=[
            SeriesOut(
                name=s.name,
                labels=dict(s.labels),
                points=[(t, v if math.isfinite(v) else None) for t, v in s.points],
            )
            for s in found
        ],
    )
