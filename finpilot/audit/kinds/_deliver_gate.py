"""Kinds of the delivery security gate: one entry per gate run, with what it scanned and decided."""

from __future__ import annotations

from pydantic import Field

from finpilot.audit._kind import KINDS, EntryKind, Evidence


class FileRef(Evidence):
    """A file the entry refers to, so an evidence bundle can include it and an auditor check it."""

    path: str
    digest: str = Field(description="sha256:<hex> of the file's bytes.")


class GateScanner(Evidence):
    """One scanner that ran, and its version."""

    name: str
    version: str
    cached: bool
    findings: int
    source: str | None = Field(default=None, description="The dependency audit's advisory source.")


class DeliverGateEvidence(Evidence):
    """The gate's verdict and what it rests on: counts, SARIF, scanners, policy, waivers."""

    verdict: str = Field(description="fail, warn or pass.")
    release: str | None = None
    counts: dict[str, int] = Field(description="Findings per severity.")
    failing: int
    sarif: FileRef | None = None
    scanners: list[GateScanner]
    policy_id: str
    policy_digest: str
    waivers_applied: list[str]
    waivers_expired: list[str]
    waivers: FileRef | None = None
    baseline: FileRef | None = None
    config: FileRef | None = None
    duration_s: float


DELIVER_GATE = KINDS.declare(
    EntryKind(
        name="deliver.gate",
        version=1,
        meaning="A security gate ran its scanners over a tree and its policy decided fail, warn or pass.",
        evidence=DeliverGateEvidence,
        actors=("*",),
        actions=("gate",),
        subjects=("release:*", "path:*"),
        outcomes=("pass", "warn", "fail"),
    )
)
