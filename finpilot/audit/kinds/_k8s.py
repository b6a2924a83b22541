"""Kinds of finpilot's Kubernetes side: manifests applied, and the dead-node healer's steps."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from finpilot.audit._kind import KINDS, EntryKind, Evidence


class K8sApplyEvidence(Evidence):
    """Every object about to be applied, in order (written before the first)."""

    objects: list[str] = Field(description="Kind/namespace/name of each object.")
    field_manager: str = Field(description="The server-side apply field manager.")


K8S_APPLY = KINDS.declare(
    EntryKind(
        name="k8s.apply",
        version=1,
        meaning="Kubernetes manifests were server-side applied to a cluster (or dry-run).",
        evidence=K8sApplyEvidence,
        actors=("*",),
        actions=("apply",),
        subjects=("k8s:*",),
        outcomes=("started", "dry-run"),
    )
)


class K8sDeadNodeEvidence(Evidence):
    """One step of the dead-node healer (the step itself), or why it held back."""

    kind: Literal["cordon", "evict", "force_delete"] | None = Field(default=None, description="The step.")
    node: str | None = None
    pod: str | None = None
    namespace: str | None = None
    reason: str | None = None
    why: str | None = Field(default=None, description="Why an eviction was refused (the disruption budget).")
    dead: list[str] | None = Field(default=None, description="Nodes judged dead when the healer held back.")


K8S_DEAD_NODE = KINDS.declare(
    EntryKind(
        name="k8s.dead_node",
        version=1,
        meaning="The dead-node healer cordoned a dead node, evicted or force-deleted its pods, or held back.",
        evidence=K8sDeadNodeEvidence,
        actors=("*",),
        actions=("cordon", "evict", "force_delete", "hold"),
        subjects=("node:*", "pod:*", "cluster"),
        outcomes=("started", "refused"),
    )
)
