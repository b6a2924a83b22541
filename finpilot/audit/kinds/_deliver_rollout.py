"""Kinds of progressive delivery: every action a rollout takes or an operator asks of it."""

from __future__ import annotations

from pydantic import Field

from finpilot.audit._kind import KINDS, EntryKind, Evidence


class RolloutEvidence(Evidence):
    """One rollout action: where the rollout stood, what it did and why."""

    rollout: str = Field(description="The rollout id.")
    release: str = Field(description="The release id being rolled out.")
    service: str = Field(description="The runtime service the release revises.")
    strategy: str = Field(description="canary or blue-green.")
    phase: str = Field(description="The rollout's phase after the action.")
    step: int | None = Field(description="The step (0-based) the rollout is at, when stepping.")
    weight: int = Field(description="The canary's traffic weight (percent) after the action.")
    reason: str = Field(description="Why: the verdict that decided it, or the operator's request.")
    verdict: str | None = Field(default=None, description="The judge's verdict behind an automatic action.")
    policy: str | None = Field(
        default=None, description="The policy that chose an automatic action: its id and the SHA-256 of its source."
    )


DELIVER_ROLLOUT = KINDS.declare(
    EntryKind(
        name="deliver.rollout",
        version=1,
        meaning="A rollout started, stepped, paused, resumed, was promoted, rolled back or aborted.",
        evidence=RolloutEvidence,
        actors=("*",),
        actions=("start", "step", "pause", "resume", "promote", "rollback", "abort", "finish", "refuse"),
        subjects=("release:*",),
        outcomes=("ok", "requested", "failed"),
    )
)
