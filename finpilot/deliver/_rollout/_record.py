"""A rollout's state as stored: phase, step, weight, timers, analyses and actions (JSON in the store)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from finpilot.deliver._rollout._config import RolloutConfig

Phase = Literal[
    "starting",  # arms launched, waiting for them to be ready
    "progressing",  # stepping, judged every interval
    "paused",  # holding its weights until an operator resumes, promotes or aborts
    "switched",  # blue-green: all traffic on green, blue kept idle for the rollback window
    "promoting",  # canary becoming stable (several waits, see the engine)
    "rolling-back",  # canary and baseline weights at 0, arms draining
    "promoted",
    "rolled-back",
    "aborted",
]
TERMINAL = frozenset({"promoted", "rolled-back", "aborted"})
Manual = Literal["promote", "abort", "pause", "resume"]


class AnalysisPoint(BaseModel):
    """One analysis, kept for the console's charts and the verdict history."""

    model_config = ConfigDict(frozen=True)

    at: float
    step: int
    weight: int
    verdict: str
    enough_data: bool
    reason: str
    baseline_requests: int
    canary_requests: int
    metrics: list[dict[str, Any]]
    action: str


class ActionPoint(BaseModel):
    """One action the rollout took (also a ``deliver.rollout`` audit entry)."""

    model_config = ConfigDict(frozen=True)

    at: float
    action: str
    actor: str
    phase: str
    weight: int
    reason: str


class RolloutRecord(BaseModel):
    """Everything a rollout is; the engine changes it, the store keeps it, the CLI and console read it."""

    model_config = ConfigDict(validate_assignment=True)

    id: str = Field(description="The rollout id: the release id.")
    service: str
    release: str
    env: dict[str, str] = Field(description="The release's environment overrides (PAYMENTS_VERSION = release).")
    stable_env: dict[str, str] = Field(description="The stable version's env before the rollout (for the baseline).")
    stable_replicas: int
    config: RolloutConfig
    phase: Phase = "starting"
    step: int = 0
    weight: int = 0
    created_at: float
    updated_at: float
    phase_since: float = Field(description="When the phase (or the current step) began.")
    traffic_since: float | None = Field(default=None, description="When the canary first took traffic.")
    extensions: int = 0
    sub: int = Field(0, description="Progress inside a multi-wait phase (promoting, rolling-back).")
    next_analysis_at: float = 0.0
    resume_phase: Phase | None = None
    verdict_at: float | None = Field(default=None, description="When the deciding verdict came (promote/rollback).")
    outcome_reason: str = ""
    analyses: list[AnalysisPoint] = Field(default_factory=list)
    actions: list[ActionPoint] = Field(default_factory=list)

    @property
    def terminal(self) -> bool:
        """Whether the rollout is over (promoted, rolled back or aborted)."""
        return self.phase in TERMINAL

    def summary(self) -> dict[str, Any]:
        """The short form ``rollout list`` shows."""
        return {
            "id": self.id,
            "service": self.service,
            "release": self.release,
            "strategy": self.config.strategy,
            "phase": self.phase,
            "step": self.step,
            "weight": self.weight,
            "updated_at": self.updated_at,
            "last_verdict": self.analyses[-1].verdict if self.analyses else None,
        }
