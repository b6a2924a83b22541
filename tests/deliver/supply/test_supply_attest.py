"""Signatures and SLSA provenance: round trips, wrong keys, changed artifacts, required fields, refusals."""

from __future__ import annotations

import base64
import json
import subprocess
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from securesystemslib.dsse import Envelope
from securesystemslib.signer import CryptoSigner

from finpilot.core import CheckFailedError, InputError, IntegrityError
from finpilot.deliver import (
    file_digest,
    load_public_key,
    load_signing_key,
    sign_artifact,
    verify_artifact,
    write_provenance,
)

Signing = tuple[CryptoSigner, Path]


def _statement(envelope: Path) -> dict[str, Any]:
    data = json.loads(envelope.read_text())
    assert data["payloadType"] == "application/vnd.in-toto+json"
    body: dict[str, Any] = json.loads(base64.b64decode(data["payload"]))
    return body


def test_key_is_created_private_once_with_its_public_half(tmp_path: Path) -> None:
    path = tmp_path / "keys" / "release-signing.pem"
    signer, public = load_signing_key(path, create=True)
    assert path.stat().st_mode & 0o777 == 0o600
    assert path.parent.stat().st_mode & 0o777 == 0o700
    assert public == tmp_path / "keys" / "release-signing.pub.pem"
    again, _ = load_signing_key(path, create=True)
    assert again.public_key.keyid == signer.public_key.keyid == load_public_key(public).keyid
    path.chmod(0o640)
    with pytest.raises(IntegrityError):
        load_signing_key(path, create=False)
    with pytest.raises(InputError) as info:
        load_signing_key(tmp_path / "none.pem", create=False)
    assert info.value.field == "key"


def test_sign_then_verify_round_trip_with_securesystemslib(wheel: Path, signing: Signing, tmp_path: Path) -> None:
    signer, public = signing
    att = sign_artifact(wheel, tmp_path / "sig.json", signer, public, release="payments-1.4.0")
    body = _statement(tmp_path / "sig.json")
    assert body["_type"] == "https://in-toto.io/Statement/v1"
    assert body["subject"] == [{"name": wheel.name, "digest": {"sha256": file_digest(wheel)[7:]}}]
    # Any DSSE verifier given the key accepts it: here securesystemslib's own, outside finpilot's code.
    envelope = Envelope.from_dict(json.loads((tmp_path / "sig.json").read_text()))
    assert list(envelope.verify([load_public_key(public)], 1)) == [att.key_id]
    result = verify_artifact(wheel, signature=tmp_path / "sig.json", public_key=public, require_signature=True)
    assert result.ok, result.to_json()
    assert result.signed
    result.raise_for_failure()


def test_wrong_key_fails_as_bad_signature(wheel: Path, signing: Signing, tmp_path: Path) -> None:
    signer, public = signing
    sign_artifact(wheel, tmp_path / "sig.json", signer, public)
    _, other = load_signing_key(tmp_path / "other" / "k.pem", create=True)
    result = verify_artifact(wheel, signature=tmp_path / "sig.json", public_key=other, require_signature=True)
    assert not result.ok
    assert result.to_json()["failed"] == ["signature", "signed"]
    with pytest.raises(CheckFailedError, match="bad signature"):
        result.raise_for_failure()


def test_modified_artifact_fails_naming_the_digest(wheel: Path, signing: Signing, tmp_path: Path) -> None:
    signer, public = signing
    sign_artifact(wheel, tmp_path / "sig.json", signer, public)
    signed_digest = file_digest(wheel)
    wheel.write_bytes(wheel.read_bytes() + b"\0")
    result = verify_artifact(wheel, signature=tmp_path / "sig.json", public_key=public)
    assert [c.name for c in result.failures] == ["digest"]
    assert "digest mismatch" in result.failures[0].detail
    assert file_digest(wheel) in result.failures[0].detail
    assert signed_digest in result.failures[0].detail


def test_unsigned_artifact_is_refused_when_required(wheel: Path, signing: Signing, tmp_path: Path) -> None:
    signer, public = signing
    # An envelope with the right statement but its signature stripped.
    sign_artifact(wheel, tmp_path / "sig.json", signer, public)
    data = json.loads((tmp_path / "sig.json").read_text())
    data["signatures"] = []
    (tmp_path / "bare.json").write_text(json.dumps(data))
    refused = verify_artifact(wheel, signature=tmp_path / "bare.json", public_key=public, require_signature=True)
    assert {c.name for c in refused.failures} == {"signature", "signed"}
    # Nothing at all to show, where policy asks for a signature: refused, not waved through.
    nothing = verify_artifact(wheel, public_key=public, require_signature=True)
    assert [c.name for c in nothing.failures] == ["signed"]
    assert "unsigned where required" in nothing.failures[0].detail
    with pytest.raises(InputError) as info:
        verify_artifact(wheel, signature=tmp_path / "sig.json", require_signature=True)
    assert info.value.field == "public_key"


def _git_repo(path: Path) -> str:
    path.mkdir()
    env = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@x", "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@x"}
    for args in (
        ["init", "-q"],
        ["remote", "add", "origin", "https://ci-bot:s3cr3t-token@git.example.com/org/payments.git"],
        ["commit", "-q", "--allow-empty", "-m", "x"],
    ):
        subprocess.run(["git", "-C", str(path), *args], check=True, env={**env, "PATH": "/usr/bin:/bin"})
    done = subprocess.run(["git", "-C", str(path), "rev-parse", "HEAD"], check=True, capture_output=True, text=True)
    return done.stdout.strip()


def test_provenance_has_the_slsa_v1_fields(wheel: Path, signing: Signing, tmp_path: Path) -> None:
    signer, public = signing
    commit = _git_repo(tmp_path / "src")
    material = tmp_path / "requirements.lock"
    material.write_text("pydantic==2.14.4\n")
    started = datetime(2026, 12, 7, 4, 0, tzinfo=UTC)
    att = write_provenance(
        wheel,
        tmp_path / "prov.json",
        signer,
        public,
        release="payments-1.4.0",
        commands=["python -m build --wheel"],
        materials=[material],
        source=tmp_path / "src",
        started_on=started,
    )
    body = _statement(tmp_path / "prov.json")
    assert body["predicateType"] == "https://slsa.dev/provenance/v1"
    build, run = body["predicate"]["buildDefinition"], body["predicate"]["runDetails"]
    assert build["buildType"].startswith("https://finpilot.dev/")
    assert build["externalParameters"]["commands"] == ["python -m build --wheel"]
    assert build["externalParameters"]["release"] == "payments-1.4.0"
    assert set(build["internalParameters"]) == {"finpilot", "python", "platform"}
    git, lock = build["resolvedDependencies"]
    assert git == {"uri": "git+https://git.example.com/org/payments.git", "digest": {"gitCommit": commit}}
    assert lock["digest"] == {"sha256": file_digest(material)[7:]}
    assert run["builder"]["id"].startswith("https://finpilot.dev/")
    assert set(run["metadata"]) == {"invocationId", "startedOn", "finishedOn"}
    assert run["metadata"]["startedOn"].startswith("2026-12-07T04:00:00")
    # The token in the remote's URL reaches neither the statement nor the evidence.
    assert "s3cr3t" not in (tmp_path / "prov.json").read_text()
    assert "s3cr3t" not in json.dumps(att.to_json())
    assert att.to_json()["slsa_build_level"] == 1
    ok = verify_artifact(wheel, provenance=tmp_path / "prov.json", public_key=public, require_signature=True)
    assert ok.ok, ok.to_json()


def test_a_signature_is_not_provenance(wheel: Path, signing: Signing, tmp_path: Path) -> None:
    signer, public = signing
    sign_artifact(wheel, tmp_path / "sig.json", signer, public)
    result = verify_artifact(wheel, provenance=tmp_path / "sig.json", public_key=public)
    assert [c.name for c in result.failures] == ["predicate"]
    assert "wrong predicate" in result.failures[0].detail


def test_provenance_missing_a_required_field_fails(wheel: Path, signing: Signing, tmp_path: Path) -> None:
    signer, public = signing
    write_provenance(wheel, tmp_path / "prov.json", signer, public)
    envelope = Envelope.from_dict(json.loads((tmp_path / "prov.json").read_text()))
    body = json.loads(envelope.payload)
    del body["predicate"]["runDetails"]["builder"]["id"]
    forged = Envelope(json.dumps(body).encode(), envelope.payload_type, {})
    forged.sign(signer)  # signed by the right key: only the predicate is wrong
    (tmp_path / "forged.json").write_text(json.dumps(forged.to_dict()))
    result = verify_artifact(wheel, provenance=tmp_path / "forged.json", public_key=public)
    assert [c.name for c in result.failures] == ["predicate"]
    assert "runDetails.builder.id" in result.failures[0].detail


def test_not_an_envelope_is_a_failed_check(wheel: Path, public_key_only: Path, tmp_path: Path) -> None:
    (tmp_path / "junk.json").write_text('{"hello": 1}')
    result = verify_artifact(wheel, signature=tmp_path / "junk.json", public_key=public_key_only)
    assert [c.name for c in result.failures] == ["envelope"]


@pytest.fixture
def public_key_only(signing: Signing) -> Path:
    """Just the public key file."""
    return signing[1]
