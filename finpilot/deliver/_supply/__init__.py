"""The signed supply chain: CycloneDX SBOMs, DSSE-signed in-toto statements, SLSA v1 provenance,
artifact verification, and auditors' evidence bundles of a release."""

from finpilot.deliver._supply._attest import Attestation, git_revision, sign_artifact, write_provenance
from finpilot.deliver._supply._evidence_pack import EvidencePack, pack_evidence
from finpilot.deliver._supply._evidence_verify import BundleProblem, EvidenceReport, verify_evidence
from finpilot.deliver._supply._files import ArtifactRef, FileRef, tree_digest
from finpilot.deliver._supply._keys import default_key_path, load_public_key, load_signing_key, public_key_path
from finpilot.deliver._supply._record import record_attestation, record_sbom
from finpilot.deliver._supply._sbom import SbomResult, write_sbom
from finpilot.deliver._supply._verify import ArtifactVerification, Check, verify_artifact

__all__ = [
    "ArtifactRef",
    "ArtifactVerification",
    "Attestation",
    "BundleProblem",
    "Check",
    "EvidencePack",
    "EvidenceReport",
    "FileRef",
    "SbomResult",
    "default_key_path",
    "git_revision",
    "load_public_key",
    "load_signing_key",
    "pack_evidence",
    "public_key_path",
    "record_attestation",
    "record_sbom",
    "sign_artifact",
    "tree_digest",
    "verify_artifact",
    "verify_evidence",
    "write_provenance",
    "write_sbom",
]
