"""Kinds of deliberate faults: each injection, and the chaos drill's summary."""

from __future__ import annotations

from pydantic import Field

from finpilot.audit._kind import KINDS, EntryKind, Evidence


class ChaosInjectEvidence(Evidence):
    """What fault was injected where (written before the fault is done)."""

    fault: str | None = Field(default=None, description="kill, hang, node-down, disk-full, db-primary-down ...")
    instance: str | None = None
    node: str | None = None
    pid: int | None = Field(default=None, description="The process signalled.")
    signal: str | None = Field(default=None, description="The signal's name (SIGKILL, SIGSTOP).")
    instances: list[str] | None = Field(default=None, description="Replicas a latency fault applies to.")
    ms: float | None = Field(default=None, description="Added latency; 0 lifts the fault.")
    agent_pid: int | None = None
    replicas: list[str] | None = Field(default=None, description="Replicas that ran on a node taken down.")
    port: int | None = None
    via: str | None = Field(default=None, description="patroni when the database pair is Patroni's.")


CHAOS_INJECT = KINDS.declare(
    EntryKind(
        name="chaos.inject",
        version=1,
        meaning="Someone deliberately injected a fault (kill, hang, latency, node down, disk full, database "
        "primary down); recorded before it was done.",
        evidence=ChaosInjectEvidence,
        actors=("*",),
        actions=("kill", "hang", "latency", "node-down", "disk-full", "disk-full-clear", "db-primary-down"),
        subjects=("replica:*", "service:*", "node:*", "db:*"),
        outcomes=("injected", "ok"),
    )
)


class DrillFaultSummary(Evidence):
    """One fault's figures in a chaos drill: trials, recoveries, timings (s) and the payments' fate."""

    skipped: str | None = Field(description="Why the fault was not tried; None when it was.")
    trials: int
    recovered: int
    detection_p95_s: float | None
    recovery_p50_s: float | None
    recovery_p95_s: float | None
    failed: int = Field(description="Payment requests that never got a 2xx.")
    lost: int = Field(description="Acknowledged payments missing from the payments ledger.")
    duplicated: int
    writes_resumed_p95_s: float | None = None
    rejoin_p95_s: float | None = None


class ChaosDrillEvidence(Evidence):
    """A chaos drill's summary: per fault figures, and whether money and the audit log stayed whole."""

    faults: dict[str, DrillFaultSummary] = Field(description="By fault name.")
    rate_per_s: float = Field(description="Payment traffic offered during the drill.")
    unbalanced: int = Field(description="Payments-ledger transactions whose postings do not balance.")
    audit_verified: bool
    ok: bool


CHAOS_DRILL = KINDS.declare(
    EntryKind(
        name="chaos.drill",
        version=1,
        meaning="A chaos drill injected faults into a scratch stack under payment traffic and measured the healing.",
        evidence=ChaosDrillEvidence,
        actors=("*",),
        actions=("drill",),
        subjects=("runtime:*",),
        outcomes=("passed", "failed"),
    )
)
