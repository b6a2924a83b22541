"""Signing an artifact and writing its SLSA v1 provenance: in-toto statements in DSSE envelopes, Ed25519.

SLSA Build L1 is claimed and no more: the provenance exists and says how the artifact was built,
but the builder is whatever machine runs ``finpilot provenance`` (neither hosted nor isolated),
and the key sits on that machine, so the statement is not unforgeable by the build's own steps.
"""

from __future__ import annotations

import json
import platform
import shutil
import subprocess
import sys
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from securesystemslib.signer import CryptoSigner

from finpilot import __version__
from finpilot.core import Clock, rfc3339, utc_now
from finpilot.deliver._supply._files import ArtifactRef, FileRef, need_file
from finpilot.deliver._supply._statement import SIGNATURE_PREDICATE, SLSA_PROVENANCE, sign_statement, statement

BUILD_TYPE = "https://finpilot.dev/slsa/build-types/release/v1"
"""What the provenance's build definition means: a release artifact built by the given commands."""
DEFAULT_BUILDER = "https://finpilot.dev/slsa/builders/finpilot-cli/v1"
"""The builder id of ``finpilot provenance`` run on a developer's or a CI runner's machine."""
SLSA_BUILD_LEVEL = 1


@dataclass(frozen=True, slots=True)
class Attestation:
    """A signed statement written: what it names, where it is, which key signed it."""

    kind: str
    artifact: ArtifactRef
    output: FileRef
    key_id: str
    public_key: FileRef
    predicate_type: str
    release: str | None
    details: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """JSON-ready form (the ``--json`` shape of ``finpilot sign`` and ``finpilot provenance``)."""
        return {
            "release": self.release,
            "artifact": self.artifact.to_json(),
            "output": self.output.to_json(),
            "key_id": self.key_id,
            "public_key": self.public_key.to_json(),
            "payload_type": "application/vnd.in-toto+json",
            "predicate_type": self.predicate_type,
            **self.details,
        }


def _write_json(out: Path, data: dict[str, Any]) -> FileRef:
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return FileRef.of(out)


def sign_artifact(
    artifact_path: Path,
    out: Path,
    signer: CryptoSigner,
    public_key: Path,
    *,
    release: str | None = None,
    clock: Clock = utc_now,
) -> Attestation:
    """Write a DSSE envelope over an in-toto statement whose subject is the artifact's name and SHA-256."""
    artifact = ArtifactRef.of(need_file(artifact_path, "artifact"))
    predicate: dict[str, Any] = {"signedOn": rfc3339(clock()), "signer": DEFAULT_BUILDER}
    if release is not None:
        predicate["release"] = release
    envelope = sign_statement(statement(artifact, SIGNATURE_PREDICATE, predicate), signer)
    return Attestation(
        kind="sign",
        artifact=artifact,
        output=_write_json(out, envelope),
        key_id=signer.public_key.keyid,
        public_key=FileRef.of(public_key),
        predicate_type=SIGNATURE_PREDICATE,
        release=release,
    )


@dataclass(frozen=True, slots=True)
class SourceRevision:
    """The git revision the artifact was built from."""

    uri: str
    commit: str


def git_revision(source: Path) -> SourceRevision | None:
    """The commit checked out at ``source`` and its remote (or its path), or ``None`` outside a git repository."""

    exe = shutil.which("git")
    if exe is None:
        return None

    def git(*args: str) -> str | None:
        try:
            done = subprocess.run(
                [exe, "-C", str(source), *args], capture_output=True, text=True, timeout=30, check=False
            )
        except (OSError, subprocess.TimeoutExpired):
            return None
        return done.stdout.strip() if done.returncode == 0 and done.stdout.strip() else None

    commit = git("rev-parse", "HEAD")
    if commit is None:
        return None
    remote = git("remote", "get-url", "origin")
    if remote is not None and "://" in remote:
        # An https remote may carry a token as its user part; it must not reach a statement or the ledger.
        parts = urlsplit(remote)
        host = (parts.hostname or "") + (f":{parts.port}" if parts.port else "")
        remote = urlunsplit((parts.scheme, host, parts.path, parts.query, parts.fragment))
    uri = f"git+{remote}" if remote else f"git+{source.resolve().as_uri()}"
    return SourceRevision(uri=uri, commit=commit)


def provenance_predicate(
    *,
    commands: Sequence[str],
    release: str | None,
    source: SourceRevision | None,
    materials: Sequence[FileRef],
    builder_id: str,
    started_on: datetime,
    finished_on: datetime,
    invocation_id: str,
) -> dict[str, Any]:
    """The SLSA provenance v1 predicate (https://slsa.dev/spec/v1.0/provenance)."""
    resolved: list[dict[str, Any]] = []
    if source is not None:
        resolved.append({"uri": source.uri, "digest": {"gitCommit": source.commit}})
    for material in materials:
        path = Path(material.path)
        resolved.append(
            {"uri": path.as_uri(), "name": path.name, "digest": {"sha256": material.digest.removeprefix("sha256:")}}
        )
    external: dict[str, Any] = {"commands": list(commands)}
    if release is not None:
        external["release"] = release
    if source is not None:
        external["source"] = {"uri": source.uri, "commit": source.commit}
    return {
        "buildDefinition": {
            "buildType": BUILD_TYPE,
            "externalParameters": external,
            "internalParameters": {
                "finpilot": __version__,
                "python": platform.python_version(),
                "platform": sys.platform,
            },
            "resolvedDependencies": resolved,
        },
        "runDetails": {
            "builder": {"id": builder_id, "version": {"finpilot": __version__}},
            "metadata": {
                "invocationId": invocation_id,
                "startedOn": rfc3339(started_on),
                "finishedOn": rfc3339(finished_on),
            },
        },
    }


def write_provenance(
    artifact_path: Path,
    out: Path,
    signer: CryptoSigner,
    public_key: Path,
    *,
    release: str | None = None,
    commands: Sequence[str] = (),
    materials: Sequence[Path] = (),
    source: Path | None = None,
    builder_id: str = DEFAULT_BUILDER,
    started_on: datetime | None = None,
    clock: Clock = utc_now,
) -> Attestation:
    """Write a signed SLSA v1 provenance statement for the artifact (DSSE, Ed25519; SLSA Build L1).

    ``source`` is the checkout the artifact was built from (its git commit becomes a resolved
    dependency); ``materials`` are further inputs named with their digests; ``commands`` are the
    build's external parameters; ``started_on`` defaults to now (a pipeline passes its start).
    """
    artifact = ArtifactRef.of(need_file(artifact_path, "artifact"))
    refs = [FileRef.of(need_file(m, "materials")) for m in materials]
    revision = git_revision(source) if source is not None else None
    finished = clock()
    predicate = provenance_predicate(
        commands=commands,
        release=release,
        source=revision,
        materials=refs,
        builder_id=builder_id,
        started_on=started_on or finished,
        finished_on=finished,
        invocation_id=str(uuid.uuid4()),
    )
    envelope = sign_statement(statement(artifact, SLSA_PROVENANCE, predicate), signer)
    return Attestation(
        kind="provenance",
        artifact=artifact,
        output=_write_json(out, envelope),
        key_id=signer.public_key.keyid,
        public_key=FileRef.of(public_key),
        predicate_type=SLSA_PROVENANCE,
        release=release,
        details={
            "build_type": BUILD_TYPE,
            "builder_id": builder_id,
            "slsa_build_level": SLSA_BUILD_LEVEL,
            "source": {"uri": revision.uri, "commit": revision.commit} if revision is not None else None,
            "materials": [m.to_json() for m in refs],
        },
    )
