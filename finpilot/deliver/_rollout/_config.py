"""How a rollout proceeds: strategy, steps, analysis timing, the judge's config and the action policy.

Defaults suit the local payments demo at about 50 requests a second (see docs/deliver-rollouts.md):
canary steps of 25 % then 50 % (so each arm gets about 12 requests a second at the first step), an
analysis every 5 s over the last 60 s, and a judge that needs 100 requests per arm.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from finpilot.deliver._judge import JudgeConfig
from finpilot.deliver._release import load_model_file

Strategy = Literal["canary", "blue-green"]
Action = Literal["rollback", "pause", "extend", "continue"]


class Step(BaseModel):
    """One canary step: the canary's traffic weight (the baseline gets as much) and how long it holds."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    weight: int = Field(ge=1, le=50, description="Percent of traffic to the canary (and as much to the baseline).")
    pause_s: float = Field(20.0, ge=0, le=86400, description="Seconds the step holds, judged, before the next.")


class ActionPolicy(BaseModel):
    """What each verdict leads to (the one place this is decided: :func:`decide`)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    on_fail: Literal["rollback", "pause"] = Field("rollback", description="A failed analysis.")
    failure_limit: int = Field(
        1, ge=1, le=100, description="Consecutive failed analyses before on_fail (Argo's failureLimit + 1)."
    )
    on_no_data: Action = Field(
        "pause", description="Not enough requests when a step's time is up: pause (default), extend or rollback."
    )
    on_inconclusive: Action = Field(
        "extend", description="Enough data but no verdict when a step's time is up: extend the window (default)."
    )
    max_extensions: int = Field(2, ge=0, le=100, description="Extensions per step before 'pause'.")
    extension_s: float = Field(10.0, gt=0, le=3600, description="Seconds each extension adds to the step.")


class RolloutConfig(BaseModel):
    """A rollout's whole configuration; every field has a default (see the module docstring)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    strategy: Strategy = Field("canary", description="canary (weighted steps) or blue-green (judge, then switch).")
    steps: list[Step] = Field(
        default_factory=lambda: [Step(weight=25, pause_s=20.0), Step(weight=50, pause_s=20.0)],
        min_length=1,
        description="Canary steps in order; blue-green uses the first as its test step.",
    )
    arm_replicas: int = Field(1, ge=1, le=100, description="Replicas of the baseline and of the canary arm each.")
    analysis_interval_s: float = Field(5.0, gt=0, le=3600, description="Seconds between analyses.")
    lookback_s: float = Field(60.0, gt=0, le=86400, description="Each analysis judges the requests of this window.")
    ready_timeout_s: float = Field(90.0, gt=0, le=3600, description="Arms not ready by then: the rollout rolls back.")
    drain_s: float = Field(
        1.0, ge=0, le=600, description="Seconds between taking traffic off replicas and stopping them."
    )
    blue_green_window_s: float = Field(
        30.0, ge=0, le=86400, description="Blue-green: how long blue is kept, idle, after the switch."
    )
    require_signature: bool = Field(
        False, description="Refuse to start unless the release's artifact verifies (the verifier hook)."
    )
    judge: JudgeConfig = Field(
        default_factory=lambda: JudgeConfig(min_requests=100), description="The canary judge's configuration."
    )
    policy: ActionPolicy = Field(default_factory=ActionPolicy, description="Verdict -> action mapping.")

    @field_validator("steps")
    @classmethod
    def _rising(cls, steps: list[Step]) -> list[Step]:
        weights = [s.weight for s in steps]
        if weights != sorted(weights):
            raise ValueError("step weights must not go down")
        return steps

    @model_validator(mode="after")
    def _window(self) -> RolloutConfig:
        if self.lookback_s < self.analysis_interval_s:
            raise ValueError("lookback_s must be at least analysis_interval_s")
        return self

    @classmethod
    def load(cls, path: Path) -> RolloutConfig:
        """Read a YAML or JSON rollout config; a bad field is an InputError naming it."""
        return load_model_file(cls, path, "the rollout config", fix="see docs/deliver-rollouts.md")
