"""Kinds of the delivery supply chain: SBOMs, signatures, SLSA provenance and evidence bundles of a release."""

from __future__ import annotations

from pydantic import Field

from finpilot.audit._kind import KINDS, EntryKind, Evidence

_DIGEST = r"^sha256:[0-9a-f]{64}$"


class SupplyFile(Evidence):
    """A file the entry refers to, named so that an evidence bundle can include it and an auditor check it."""

    path: str = Field(description="Where the file was written (absolute).")
    digest: str = Field(pattern=_DIGEST, description="sha256:<hex> of the file's bytes.")


class SupplyArtifact(Evidence):
    """The artifact an SBOM, signature or provenance speaks about (a wheel, an image context)."""

    name: str
    digest: str = Field(pattern=_DIGEST, description="sha256:<hex> of the artifact (a directory's tree digest).")


class SbomEvidence(Evidence):
    """A CycloneDX SBOM written for an artifact."""

    release: str | None
    artifact: SupplyArtifact
    output: SupplyFile
    spec_version: str = Field(description="CycloneDX specification version of the document.")
    components: int = Field(description="Components listed besides the root.")
    source: str = Field(description="What the components were read from: wheel, requirements, environment ...")


class SignEvidence(Evidence):
    """A DSSE envelope over an in-toto statement naming the artifact, signed with Ed25519."""

    release: str | None
    artifact: SupplyArtifact
    output: SupplyFile
    key_id: str = Field(description="securesystemslib key id of the signing key.")
    public_key: SupplyFile = Field(description="The PEM public key that verifies the envelope.")
    predicate_type: str


class ProvenanceSource(Evidence):
    """The source revision the artifact was built from."""

    uri: str
    commit: str


class ProvenanceEvidence(Evidence):
    """A signed SLSA v1 provenance statement for an artifact (SLSA Build L1 claimed)."""

    release: str | None
    artifact: SupplyArtifact
    output: SupplyFile
    key_id: str
    public_key: SupplyFile
    predicate_type: str
    build_type: str
    builder_id: str
    slsa_build_level: int = Field(description="The SLSA Build level claimed (1: provenance exists).")
    source: ProvenanceSource | None
    materials: list[SupplyFile]


class EvidencePackEvidence(Evidence):
    """An evidence bundle of a release was written; its manifest's digest seals the bundle."""

    release: str
    manifest: SupplyFile
    entries: int = Field(description="Ledger entries about the release in the bundle.")
    files: int = Field(description="Files those entries name that were copied into the bundle.")
    missing: list[str] = Field(description="Files entries name that were gone or changed, so not bundled.")


_SUBJECTS = ("release:*", "artifact:*")

DELIVER_SBOM = KINDS.declare(
    EntryKind(
        name="deliver.sbom",
        version=1,
        meaning="A CycloneDX SBOM of an artifact was written.",
        evidence=SbomEvidence,
        actors=("*",),
        actions=("sbom",),
        subjects=_SUBJECTS,
        outcomes=("ok",),
    )
)

DELIVER_SIGN = KINDS.declare(
    EntryKind(
        name="deliver.sign",
        version=1,
        meaning="An artifact was signed: a DSSE envelope over an in-toto statement naming its digest.",
        evidence=SignEvidence,
        actors=("*",),
        actions=("sign",),
        subjects=_SUBJECTS,
        outcomes=("ok",),
    )
)

DELIVER_PROVENANCE = KINDS.declare(
    EntryKind(
        name="deliver.provenance",
        version=1,
        meaning="A signed SLSA v1 provenance statement of an artifact was written (SLSA Build L1).",
        evidence=ProvenanceEvidence,
        actors=("*",),
        actions=("provenance",),
        subjects=_SUBJECTS,
        outcomes=("ok",),
    )
)

DELIVER_EVIDENCE = KINDS.declare(
    EntryKind(
        name="deliver.evidence",
        version=1,
        meaning="An auditor's evidence bundle of a release (entries, proofs, files, manifest) was written.",
        evidence=EvidencePackEvidence,
        actors=("*",),
        actions=("pack",),
        subjects=("release:*",),
        outcomes=("ok", "incomplete"),
    )
)
