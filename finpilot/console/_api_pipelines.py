"""REST API of the Pipelines page (READ): runs, one run, and a step's log (its tail).

``GET /api/v1/pipelines/runs``, ``GET /api/v1/pipelines/runs/{run_id}`` and
``GET /api/v1/pipelines/runs/{run_id}/steps/{step}/log``. Runs are read from the data
directory (``<data>/pipelines/runs``) that ``finpilot pipeline run`` writes; the console
starts none, so there is no mutating call here. Server paths stay out of the answers: an
artifact's path is relative to its run, the pipeline file is named, not located.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from pydantic import Field

from finpilot.console._api_models import ApiModel
from finpilot.console._auth import require
from finpilot.console._http import ERRORS
from finpilot.console._roles import Permission
from finpilot.console._state import console_state
from finpilot.console._tokens import Principal
from finpilot.deliver import RunRecord, list_runs, load_run, read_log

router = APIRouter(prefix="/api/v1/pipelines", tags=["pipelines"], responses=ERRORS)

Reader = Annotated[Principal, Depends(require(Permission.READ))]

StepState = Literal["pending", "running", "passed", "failed", "skipped", "cached"]
RunState = Literal["running", "passed", "failed"]

DEFAULT_TAIL = 64 * 1024
"""How much of a step's log (its end) an answer carries unless asked for less or more."""


class ArtifactView(ApiModel):
    """One artifact of a step, its path relative to the run directory."""

    name: str
    path: str
    size: int
    digest: str


class JUnitFailureView(ApiModel):
    """A failed or erroring test case."""

    suite: str
    name: str
    kind: str
    message: str


class JUnitView(ApiModel):
    """A step's JUnit reports, added up."""

    files: list[str]
    tests: int
    failures: int
    errors: int
    skipped: int
    failed: list[JUnitFailureView]
    problems: list[str]


class StepView(ApiModel):
    """One step of a run."""

    name: str
    type: str
    needs: list[str]
    status: StepState
    started_at: str | None
    duration_s: float | None
    exit_code: int | None
    reason: str | None
    cached_from: str | None
    artifacts: list[ArtifactView]
    junit: JUnitView | None


class RunSummary(ApiModel):
    """A run in the list: its outcome and how many steps ended in each state."""

    id: str
    pipeline: str
    release: str | None
    status: RunState
    started_at: str
    duration_s: float | None
    counts: dict[str, int]


class RunList(ApiModel):
    """Runs, newest first."""

    runs: list[RunSummary]


class RunView(ApiModel):
    """One run with its steps."""

    id: str
    pipeline: str
    pipeline_file: str = Field(description="The pipeline file's name (not its location on the server).")
    pipeline_digest: str
    release: str | None
    status: RunState
    started_at: str
    duration_s: float | None
    only: str | None
    cache: bool
    steps: list[StepView]


class StepLog(ApiModel):
    """The end of a step's log."""

    run: str
    step: str
    size: int = Field(description="The whole log's size in bytes.")
    truncated: bool = Field(description="True when only the last bytes are here.")
    log: str


def run_summary(record: RunRecord) -> dict[str, Any]:
    """A run as the list shows it."""
    counts: dict[str, int] = {}
    for step in record.steps:
        counts[step.status] = counts.get(step.status, 0) + 1
    return {
        "id": record.id,
        "pipeline": record.pipeline,
        "release": record.release,
        "status": record.status,
        "started_at": record.started_at,
        "duration_s": record.duration_s,
        "counts": counts,
    }


def run_view(record: RunRecord) -> dict[str, Any]:
    """A run with its steps, as the API and the page show it (no server paths, no argv)."""
    data = record.model_dump(mode="json")
    data["pipeline_file"] = Path(record.pipeline_file).name
    for step in data["steps"]:
        for hidden in ("argv", "log", "cache_key"):
            step.pop(hidden)
    return data


@router.get("/runs", response_model=RunList, summary="Pipeline runs, newest first")
def runs(
    request: Request,
    _who: Reader,
    limit: Annotated[int, Query(ge=1, le=1000, description="at most this many runs")] = 50,
) -> dict[str, Any]:
    """Each run's id, pipeline, release, status, start, duration and step counts by state."""
    data_dir = console_state(request).settings.data_dir
    return {"runs": [run_summary(r) for r in list_runs(data_dir, limit=limit)]}


@router.get("/runs/{run_id}", response_model=RunView, summary="One pipeline run with its steps")
def run(request: Request, _who: Reader, run_id: str) -> dict[str, Any]:
    """Each step's status, start, duration, exit code, reason, artifacts (with digests) and JUnit counts."""
    return run_view(load_run(console_state(request).settings.data_dir, run_id))


@router.get("/runs/{run_id}/steps/{step}/log", response_model=StepLog, summary="The end of a step's log")
def step_log(
    request: Request,
    _who: Reader,
    run_id: str,
    step: str,
    tail: Annotated[int, Query(ge=1, le=1 << 20, description="at most this many bytes from the end")] = DEFAULT_TAIL,
) -> dict[str, Any]:
    """The last ``tail`` bytes of the step's log, decoded as UTF-8 (bad bytes replaced)."""
    text, size, cut = read_log(console_state(request).settings.data_dir, run_id, step, tail_bytes=tail)
    return {"run": run_id, "step": step, "size": size, "truncated": cut, "log": text}
