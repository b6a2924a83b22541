"""Kinds the ledger writes about itself."""

from __future__ import annotations

from finpilot.audit._kind import KINDS, EntryKind, Evidence


class ErasureEvidence(Evidence):
    """What a crypto-shredding erased: the indices whose personal payloads are gone (never the subject)."""

    indices: list[int]
    count: int
    reason: str


AUDIT_ERASURE = KINDS.declare(
    EntryKind(
        name="audit.erasure",
        version=1,
        meaning="The ledger crypto-shredded one data subject's personal payloads (GDPR Art. 17); the leaves stay.",
        evidence=ErasureEvidence,
        actors=("*",),
        actions=("erase",),
        subjects=("personal-data",),
        outcomes=("erased",),
    )
)
