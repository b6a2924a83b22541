"""The ledger entries of the supply chain: one per SBOM, signature and provenance written."""

from __future__ import annotations

from typing import Any

from finpilot.audit import EntryKind, Ledger
from finpilot.audit.kinds import DELIVER_PROVENANCE, DELIVER_SBOM, DELIVER_SIGN
from finpilot.deliver._supply._attest import Attestation
from finpilot.deliver._supply._files import subject_for
from finpilot.deliver._supply._sbom import SPEC_VERSION, SbomResult


def record_sbom(ledger: Ledger, result: SbomResult, *, actor: str) -> int:
    """Append the ``deliver.sbom`` entry of an SBOM; return its index."""
    return ledger.append(
        DELIVER_SBOM.entry(
            actor=actor,
            action="sbom",
            subject=subject_for(result.release, result.artifact),
            outcome="ok",
            evidence={
                "release": result.release,
                "artifact": result.artifact.to_json(),
                "output": result.output.to_json(),
                "spec_version": SPEC_VERSION,
                "components": result.components,
                "source": result.source,
            },
        )
    )


def record_attestation(ledger: Ledger, att: Attestation, *, actor: str) -> int:
    """Append the ``deliver.sign`` or ``deliver.provenance`` entry of a signed statement; return its index."""
    evidence: dict[str, Any] = {
        "release": att.release,
        "artifact": att.artifact.to_json(),
        "output": att.output.to_json(),
        "key_id": att.key_id,
        "public_key": att.public_key.to_json(),
        "predicate_type": att.predicate_type,
    }
    kind: EntryKind[Any] = DELIVER_SIGN
    if att.kind == "provenance":
        kind = DELIVER_PROVENANCE
        evidence.update(att.details)
    return ledger.append(
        kind.entry(
            actor=actor,
            action=att.kind,
            subject=subject_for(att.release, att.artifact),
            outcome="ok",
            evidence=evidence,
        )
    )
