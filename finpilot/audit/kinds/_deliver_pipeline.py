"""Kinds of the delivery pipelines: one entry per pipeline run, with each step's outcome and the files it made."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from finpilot.audit._kind import KINDS, EntryKind, Evidence


class PipelineFileRef(Evidence):
    """A file the entry refers to, so an evidence bundle can include it and an auditor check it."""

    path: str
    digest: str = Field(description="sha256:<hex> of the file's bytes.")


class PipelineStepOutcome(Evidence):
    """One step of the run."""

    name: str
    type: str = Field(description="run, gate, sbom, sign, provenance or deploy.")
    status: Literal["passed", "failed", "skipped", "cached", "pending", "running"]
    duration_s: float | None
    exit_code: int | None
    cache_hit: bool = Field(description="The outcome was reused from an earlier run with the same cache key.")


class PipelineArtifactRef(Evidence):
    """One artifact a step produced, copied into the run directory."""

    step: str
    name: str
    path: str = Field(description="Absolute path of the copy in the run's artifact directory.")
    digest: str = Field(description="sha256:<hex> of the file's bytes.")


class PipelineRunEvidence(Evidence):
    """A pipeline run: which definition, for which release, each step's outcome, the artifacts, the verdict."""

    run_id: str
    pipeline: str
    definition: PipelineFileRef = Field(description="The pipeline file as it was read.")
    definition_digest: str = Field(description="sha256:<hex> of the pipeline section, canonically encoded as JSON.")
    release: str | None
    only: str | None = Field(description="The step asked for with --only (with what it needs), or null for all.")
    steps: list[PipelineStepOutcome]
    artifacts: list[PipelineArtifactRef]
    verdict: Literal["passed", "failed"]
    duration_s: float


DELIVER_PIPELINE_RUN = KINDS.declare(
    EntryKind(
        name="deliver.pipeline_run",
        version=1,
        meaning="A delivery pipeline ran to its end: each step's outcome, the artifacts with digests, the verdict.",
        evidence=PipelineRunEvidence,
        actors=("*",),
        actions=("run",),
        subjects=("release:*", "pipeline:*"),
        outcomes=("ok", "failed"),
    )
)
