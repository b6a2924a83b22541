"""The Pipelines page: recent runs with each step's status and duration, and a step's log (its tail).

``GET /pipelines`` lists runs (READ); ``GET /pipelines/{run_id}`` shows one run;
``GET /pipelines/{run_id}/steps/{step}/log`` shows the end of a step's log, escaped like
everything the templates print. :mod:`finpilot.console._api_pipelines` serves the same as JSON.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from finpilot.console._api_pipelines import DEFAULT_TAIL, run_summary, run_view
from finpilot.console._pages import login_redirect, page_principal, render
from finpilot.console._state import NavItem, console_state
from finpilot.deliver import list_runs, load_run, read_log

PAGE = NavItem("Pipelines", "/pipelines")
"""The Pipelines page's navigation entry."""

_PAGE_RUNS = 20

router = APIRouter(tags=["pipelines"])


@router.get("/pipelines", name="pipelines_page", include_in_schema=False)
def pipelines_page(request: Request) -> Response:
    """The newest runs, each with its steps."""
    principal = page_principal(request)
    if principal is None:
        return login_redirect(request)
    records = list_runs(console_state(request).settings.data_dir, limit=_PAGE_RUNS)
    runs = [{**run_summary(r), "steps": run_view(r)["steps"]} for r in records]
    return render(request, "pipelines.html", {"runs": runs, "run": None}, principal=principal)


@router.get("/pipelines/{run_id}", name="pipeline_run_page", include_in_schema=False)
def pipeline_run_page(request: Request, run_id: str) -> Response:
    """One run: its steps with artifacts and JUnit counts."""
    principal = page_principal(request)
    if principal is None:
        return login_redirect(request)
    record = load_run(console_state(request).settings.data_dir, run_id)
    return render(request, "pipelines.html", {"runs": [], "run": run_view(record)}, principal=principal)


@router.get("/pipelines/{run_id}/steps/{step}/log", name="pipeline_log_page", include_in_schema=False)
def pipeline_log_page(
    request: Request,
    run_id: str,
    step: str,
    tail: Annotated[int, Query(ge=1, le=1 << 20)] = DEFAULT_TAIL,
) -> Response:
    """The end of one step's log."""
    principal = page_principal(request)
    if principal is None:
        return login_redirect(request)
    text, size, cut = read_log(console_state(request).settings.data_dir, run_id, step, tail_bytes=tail)
    context = {"run_id": run_id, "step": step, "log": text, "size": size, "truncated": cut}
    return render(request, "pipeline_log.html", context, principal=principal)
