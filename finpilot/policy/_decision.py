"""What a policy answers: a verdict, the reasons for it, and which policy (by id and digest) said so."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class PolicyDecision:
    """One decision of one policy over one input.

    ``verdict`` is the policy's own vocabulary (``fail``/``warn``/``pass`` for the gate,
    ``promote``/``advance``/``hold``/``rollback`` for a rollout step); ``details`` is everything
    else the policy's ``decision`` document held (the gate's per-finding mapping, for example).
    """

    verdict: str
    reasons: tuple[str, ...]
    policy_id: str
    policy_digest: str
    details: Mapping[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """The decision as JSON (details included)."""
        return {
            "verdict": self.verdict,
            "reasons": list(self.reasons),
            "policy_id": self.policy_id,
            "policy_digest": self.policy_digest,
            "details": dict(self.details),
        }
