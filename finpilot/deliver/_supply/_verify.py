"""Checking an artifact against its signature and provenance, offline: the gate a deploy passes.

Each check is named, so a refusal says exactly what failed: ``digest`` (the artifact's bytes are
not what the statement names), ``signature`` (no signature verifies with the trusted key),
``predicate`` (a provenance that is not SLSA v1, or lacks a required field), ``envelope`` (the file
is not a DSSE envelope over an in-toto statement) and ``signed`` (unsigned where required).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from securesystemslib.signer import SSlibKey

from finpilot.core import CheckFailedError, InputError
from finpilot.deliver._supply._files import ArtifactRef, need_file
from finpilot.deliver._supply._keys import load_public_key
from finpilot.deliver._supply._statement import PAYLOAD_TYPE, SLSA_PROVENANCE, open_envelope, subject_digests

_REQUIRED = (
    ("buildDefinition", "buildType"),
    ("buildDefinition", "externalParameters"),
    ("runDetails", "builder", "id"),
)


@dataclass(frozen=True, slots=True)
class Check:
    """One thing verification looked at."""

    name: str
    ok: bool
    detail: str
    file: str | None = None

    def to_json(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {"name": self.name, "ok": self.ok, "detail": self.detail, "file": self.file}


@dataclass(frozen=True, slots=True)
class ArtifactVerification:
    """The outcome of :func:`verify_artifact`: every check, and whether all passed."""

    artifact: ArtifactRef
    checks: tuple[Check, ...]
    signed: bool
    """True when at least one signature verified with the trusted key."""

    @property
    def ok(self) -> bool:
        """True when every check passed."""
        return all(c.ok for c in self.checks)

    @property
    def failures(self) -> list[Check]:
        """The checks that failed."""
        return [c for c in self.checks if not c.ok]

    def raise_for_failure(self) -> None:
        """Raise :class:`CheckFailedError` naming what failed; do nothing when verified."""
        if not self.ok:
            reasons = "; ".join(f"{c.name}: {c.detail}" for c in self.failures)
            raise CheckFailedError(
                f"artifact {self.artifact.name} is not verified: {reasons}",
                fix="rebuild, re-sign or re-attest the artifact, or trust the key that signed it",
            )

    def to_json(self) -> dict[str, Any]:
        """JSON-ready form (the ``--json`` shape of ``finpilot verify-artifact``)."""
        return {
            "ok": self.ok,
            "artifact": self.artifact.to_json(),
            "signed": self.signed,
            "checks": [c.to_json() for c in self.checks],
            "failed": sorted({c.name for c in self.failures}),
        }


def _field(body: dict[str, Any], path: tuple[str, ...]) -> Any:
    node: Any = body.get("predicate")
    for key in path:
        node = node.get(key) if isinstance(node, dict) else None
    return node


def _check_envelope(
    path: Path, artifact: ArtifactRef, keys: list[SSlibKey], *, provenance: bool
) -> tuple[list[Check], bool]:
    name = str(path)
    try:
        data = json.loads(path.read_bytes())
    except ValueError:
        data = None
    opened = open_envelope(data, keys)
    if opened.statement is None:
        return [Check("envelope", False, opened.problem or "unreadable", name)], False
    checks = [Check("envelope", opened.payload_type == PAYLOAD_TYPE, f"payloadType {opened.payload_type}", name)]
    named = subject_digests(opened.statement)
    if artifact.digest in named:
        checks.append(Check("digest", True, f"{artifact.digest} is a subject", name))
    else:
        checks.append(
            Check("digest", False, f"digest mismatch: artifact is {artifact.digest}, statement names {named}", name)
        )
    if keys:
        if opened.signatures == 0:
            checks.append(Check("signature", False, "the envelope carries no signature", name))
        elif opened.verified_by:
            checks.append(Check("signature", True, f"verified by key {', '.join(opened.verified_by)}", name))
        else:
            checks.append(Check("signature", False, "bad signature: none verifies with the trusted key", name))
    if provenance:
        predicate_type = opened.statement.get("predicateType")
        if predicate_type != SLSA_PROVENANCE:
            checks.append(
                Check("predicate", False, f"wrong predicate {predicate_type!r}, want {SLSA_PROVENANCE}", name)
            )
        else:
            missing = [".".join(p) for p in _REQUIRED if _field(opened.statement, p) in (None, "")]
            detail = f"missing required fields: {', '.join(missing)}" if missing else "SLSA provenance v1"
            checks.append(Check("predicate", not missing, detail, name))
    return checks, bool(opened.verified_by)


def verify_artifact(
    path: Path,
    *,
    provenance: Path | None = None,
    signature: Path | None = None,
    public_key: Path | SSlibKey | None = None,
    require_signature: bool = False,
) -> ArtifactVerification:
    """Check ``path`` against its provenance and/or signature envelopes, offline.

    The artifact's SHA-256 must be a subject of each statement; with ``public_key`` each envelope
    must carry a signature that verifies with it; a provenance must be SLSA v1 with its required
    fields. With ``require_signature`` at least one envelope must verify with ``public_key`` (which
    is then required). Returns every check; :meth:`ArtifactVerification.raise_for_failure` turns a
    failure into :class:`CheckFailedError`. Bad input (missing files, a key that is not one)
    raises :class:`InputError`.
    """
    artifact = ArtifactRef.of(need_file(path, "artifact"))
    if require_signature and public_key is None:
        raise InputError(
            "a signature is required but no public key was given to check it",
            field="public_key",
            fix="pass --public-key (release-signing.pub.pem)",
        )
    if provenance is None and signature is None and not require_signature:
        raise InputError(
            "nothing to verify the artifact against",
            field="provenance",
            fix="pass --provenance and/or --signature (and --public-key to check signatures)",
        )
    keys: list[SSlibKey] = []
    if isinstance(public_key, Path):
        keys.append(load_public_key(need_file(public_key, "public_key")))
    elif public_key is not None:
        keys.append(public_key)
    checks: list[Check] = []
    signed = False
    for envelope, is_provenance in ((provenance, True), (signature, False)):
        if envelope is None:
            continue
        found, verified = _check_envelope(
            need_file(envelope, "provenance" if is_provenance else "signature"),
            artifact,
            keys,
            provenance=is_provenance,
        )
        checks += found
        signed = signed or verified
    if require_signature and not signed:
        checks.append(Check("signed", False, "unsigned where required: no signature verifies with the trusted key"))
    return ArtifactVerification(artifact=artifact, checks=tuple(checks), signed=signed)
