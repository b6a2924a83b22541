"""Kinds of the canary judge: one analysis of a canary against its baseline, whoever asked for it."""

from __future__ import annotations

from pydantic import Field

from finpilot.audit._kind import KINDS, EntryKind, Evidence


class AnalysisFile(Evidence):
    """A file the analysis read (a samples CSV, the judge config), so an auditor can check it."""

    path: str
    digest: str = Field(description="sha256:<hex> of the file's bytes.")


class AnalysisMetric(Evidence):
    """One metric as the judge compared it."""

    name: str
    outcome: str = Field(description="pass, marginal, fail or no_data.")
    critical: bool
    baseline: float | None
    canary: float | None
    statistic: float | None
    p_value: float | None
    p_adjusted: float | None = Field(description="After Holm's correction over the analysis.")
    effect_size: float | None
    test: str


class AnalysisWindow(Evidence):
    """The requests judged: the time span (sample timestamps) and the count in each arm."""

    start: float | None
    end: float | None
    baseline_requests: int
    canary_requests: int


class AnalysisEvidence(Evidence):
    """What the judge decided and on what: verdict, score, every metric's statistics, the window, the source."""

    source: str = Field(description="Who asked: cli, flagger:<hook type> or argo.")
    rollout: str | None = Field(description="The rollout or canary analysed (namespace/name for Flagger).")
    release: str | None
    verdict: str
    enough_data: bool
    score: float
    reason: str
    step: str | None = Field(
        default=None, description="What the config says a rollout does next, before any extension of the window."
    )
    metrics: list[AnalysisMetric]
    window: AnalysisWindow
    samples: str = Field(description="Where the samples came from (a SampleSource's description).")
    files: list[AnalysisFile] = Field(default_factory=list)
    config_digest: str = Field(description="sha256:<hex> of the judge config's canonical JSON.")
    rollout_step: int | None = Field(
        default=None, description="The rollout step judged (0-based), when a rollout asked."
    )
    weight: int | None = Field(default=None, description="The canary's traffic weight (percent) during the window.")


DELIVER_ANALYSIS = KINDS.declare(
    EntryKind(
        name="deliver.analysis",
        version=1,
        meaning="The canary judge compared a canary with its baseline and gave a verdict (pass, fail, inconclusive).",
        evidence=AnalysisEvidence,
        actors=("*",),
        actions=("judge",),
        subjects=("release:*", "rollout:*"),
        outcomes=("pass", "fail", "inconclusive"),
    )
)
