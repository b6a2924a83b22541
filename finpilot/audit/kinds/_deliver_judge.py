"""Kinds of the canary judge: one analysis of a canary against its baseline, with its statistics."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from finpilot.audit._kind import KINDS, EntryKind, Evidence


class AnalysisEvidence(Evidence):
    """One judgement over a window: both arms' request counts, every metric's test, the verdict."""

    rollout: str = Field(description="The rollout (or Flagger/Argo analysis) the window belongs to.")
    release: str | None = Field(description="The release id under test, when known.")
    source: str = Field(description="Where the samples came from: local-router, flagger, argo or csv.")
    window_start: str = Field(description="Start of the window (RFC 3339).")
    window_end: str = Field(description="End of the window (RFC 3339).")
    verdict: str = Field(description="pass, fail or inconclusive.")
    enough_data: bool
    score: float
    reason: str
    baseline_requests: int
    canary_requests: int
    metrics: list[dict[str, Any]] = Field(description="Each metric's MetricResult: values, statistic, p-value, effect.")
    step: int | None = Field(description="The rollout step judged (0-based), when a rollout asked.")
    weight: int | None = Field(description="The canary's traffic weight (percent) during the window.")


DELIVER_ANALYSIS = KINDS.declare(
    EntryKind(
        name="deliver.analysis",
        version=1,
        meaning="A canary was judged against its baseline over one window: each metric's test and the verdict.",
        evidence=AnalysisEvidence,
        actors=("*",),
        actions=("judge",),
        subjects=("release:*", "rollout:*"),
        outcomes=("pass", "fail", "inconclusive"),
    )
)
