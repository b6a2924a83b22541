"""Kinds that people append themselves, over the API or the CLI."""

from __future__ import annotations

from pydantic import Field

from finpilot.audit._kind import KINDS, EntryKind, Evidence


class ManualChangeEvidence(Evidence):
    """Why a person changed a system by hand, and where the change was approved."""

    ticket: str = Field(min_length=1, max_length=200, description="the change or incident ticket that approved it")
    reason: str = Field(min_length=1, max_length=2000, description="what was done and why, in a sentence or two")
    approved_by: str | None = Field(default=None, max_length=200, description="who approved it, when not the actor")
    links: list[str] = Field(default_factory=list, max_length=20, description="runbook, dashboard or review links")


OPS_MANUAL_CHANGE = KINDS.declare(
    EntryKind(
        name="ops.manual_change",
        version=1,
        meaning="A person changed a production system by hand (break-glass or approved manual step), with its ticket.",
        evidence=ManualChangeEvidence,
        actors=("*",),
        actions=("start", "finish", "abort"),
        subjects=("*",),
        outcomes=("ok", "failed", "aborted"),
        reserved=False,
    )
)
