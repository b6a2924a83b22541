"""REST API of the Rollouts page: read rollouts (READ); promote, abort, pause, resume (RELEASE: operators).

::

    GET  /api/v1/rollouts                  every rollout, the most recent first
    GET  /api/v1/rollouts/{id}             one rollout: phase, weight, analyses, actions
    POST /api/v1/rollouts/{id}/promote     queue an operator's action for the rollout's loop
    POST /api/v1/rollouts/{id}/abort
    POST /api/v1/rollouts/{id}/pause
    POST /api/v1/rollouts/{id}/resume

An action is queued in the rollout store and applied by the loop that runs the rollout within a
fraction of a second, audited there as ``deliver.rollout`` with the caller's actor; the request
itself is a ``console.request`` entry. A finished or unknown rollout is 404.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from finpilot.console._auth import require
from finpilot.console._http import ERRORS
from finpilot.console._page_rollouts import rollout_store
from finpilot.console._roles import Permission
from finpilot.console._state import console_state
from finpilot.console._tokens import Principal
from finpilot.deliver import RolloutRecord

router = APIRouter(prefix="/api/v1/rollouts", tags=["rollouts"], responses=ERRORS)

Reader = Annotated[Principal, Depends(require(Permission.READ))]
Releaser = Annotated[Principal, Depends(require(Permission.RELEASE))]


class RolloutSummary(BaseModel):
    """One rollout in the list."""

    model_config = ConfigDict(extra="forbid")

    id: str
    service: str
    release: str
    strategy: str
    phase: str
    step: int
    weight: int = Field(description="The canary's traffic weight, percent.")
    updated_at: float
    last_verdict: str | None


class RolloutList(BaseModel):
    """Every rollout, the most recent first."""

    model_config = ConfigDict(extra="forbid")

    rollouts: list[RolloutSummary]


class ActionBody(BaseModel):
    """An operator's action; JSON only (``{}`` at least), so no cross-site form can post it."""

    model_config = ConfigDict(extra="forbid")

    reason: str = Field("", max_length=500, description="Why (kept in the console's request log).")


class ActionRequested(BaseModel):
    """The action is queued for the rollout's loop."""

    model_config = ConfigDict(extra="forbid")

    id: str
    requested: Literal["promote", "abort", "pause", "resume"]
    phase: str = Field(description="The rollout's phase when the action was queued.")


@router.get("", response_model=RolloutList, summary="Every rollout")
def list_rollouts(request: Request, _who: Reader) -> dict[str, Any]:
    """The rollouts, the most recently updated first."""
    return {"rollouts": [r.summary() for r in rollout_store(console_state(request)).all()]}


@router.get("/{rollout_id}", response_model=RolloutRecord, summary="One rollout in full")
def get_rollout(request: Request, rollout_id: str, _who: Reader) -> RolloutRecord:
    """Phase, step, weight, config, every analysis with its statistics and every action."""
    return rollout_store(console_state(request)).get(rollout_id)


async def _queue(request: Request, rollout_id: str, action: Any, who: Principal) -> dict[str, Any]:
    record = await run_in_threadpool(rollout_store(console_state(request)).request, rollout_id, action, who.actor)
    return {"id": record.id, "requested": action, "phase": record.phase}


@router.post("/{rollout_id}/promote", response_model=ActionRequested, summary="Promote now")
async def promote(request: Request, rollout_id: str, _body: ActionBody, who: Releaser) -> dict[str, Any]:
    """The canary becomes the stable version (blue-green: switch now, or finish after the switch)."""
    return await _queue(request, rollout_id, "promote", who)


@router.post("/{rollout_id}/abort", response_model=ActionRequested, summary="Abort (roll back)")
async def abort(request: Request, rollout_id: str, _body: ActionBody, who: Releaser) -> dict[str, Any]:
    """Canary and baseline weights to 0 at once, then both arms are removed."""
    return await _queue(request, rollout_id, "abort", who)


@router.post("/{rollout_id}/pause", response_model=ActionRequested, summary="Pause")
async def pause(request: Request, rollout_id: str, _body: ActionBody, who: Releaser) -> dict[str, Any]:
    """Hold the weights; no analysis until resumed."""
    return await _queue(request, rollout_id, "pause", who)


@router.post("/{rollout_id}/resume", response_model=ActionRequested, summary="Resume")
async def resume(request: Request, rollout_id: str, _body: ActionBody, who: Releaser) -> dict[str, Any]:
    """The current step starts its time again."""
    return await _queue(request, rollout_id, "resume", who)
