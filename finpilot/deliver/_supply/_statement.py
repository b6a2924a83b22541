"""in-toto Statement v1 in a DSSE envelope, signed and opened with securesystemslib.

The statement itself is written here as plain JSON: the ``in-toto`` package (3.x) models links
and layouts but not attestation statements, and ``in-toto-attestation`` would add protobuf for
four fields. The envelope, its pre-authentication encoding, the signature and its check are
securesystemslib's (:class:`securesystemslib.dsse.Envelope`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from securesystemslib.dsse import Envelope
from securesystemslib.exceptions import Error as SSlibError
from securesystemslib.signer import Signer, SSlibKey

from finpilot.deliver._supply._files import ArtifactRef

STATEMENT_TYPE = "https://in-toto.io/Statement/v1"
PAYLOAD_TYPE = "application/vnd.in-toto+json"
SIGNATURE_PREDICATE = "https://finpilot.dev/attestations/signed-artifact/v1"
"""The predicate of a plain signature: the statement only says "this digest is the artifact"."""
SLSA_PROVENANCE = "https://slsa.dev/provenance/v1"


def statement(artifact: ArtifactRef, predicate_type: str, predicate: dict[str, Any]) -> dict[str, Any]:
    """An in-toto Statement v1 whose one subject is ``artifact``."""
    return {
        "_type": STATEMENT_TYPE,
        "subject": [{"name": artifact.name, "digest": {"sha256": artifact.hex}}],
        "predicateType": predicate_type,
        "predicate": predicate,
    }


def sign_statement(body: dict[str, Any], signer: Signer) -> dict[str, Any]:
    """The DSSE envelope (JSON-ready) of ``body``, signed by ``signer``."""
    payload = json.dumps(body, sort_keys=True, separators=(",", ":")).encode()
    envelope = Envelope(payload=payload, payload_type=PAYLOAD_TYPE, signatures={})
    envelope.sign(signer)
    return dict(envelope.to_dict())


@dataclass(frozen=True, slots=True)
class OpenedEnvelope:
    """A DSSE envelope read from JSON: its statement and which of the given keys verified it."""

    statement: dict[str, Any] | None
    payload_type: str
    signatures: int
    verified_by: tuple[str, ...]
    problem: str | None
    """Why the envelope could not be read at all (not JSON, not DSSE, payload not a statement)."""


def open_envelope(data: Any, keys: list[SSlibKey]) -> OpenedEnvelope:
    """Parse a DSSE envelope and check its signatures with ``keys`` (none verified when ``keys`` is empty)."""
    if not isinstance(data, dict):
        return OpenedEnvelope(None, "", 0, (), "not a DSSE envelope (a JSON object)")
    try:
        # from_dict rewrites the signature dicts it is given; hand it a copy.
        envelope = Envelope.from_dict(json.loads(json.dumps(data)))
    except (KeyError, TypeError, ValueError, AttributeError, SSlibError) as exc:
        return OpenedEnvelope(None, "", 0, (), f"not a DSSE envelope: {type(exc).__name__} {exc}")
    try:
        body = json.loads(envelope.payload)
    except ValueError:
        body = None
    if not isinstance(body, dict) or body.get("_type") != STATEMENT_TYPE:
        return OpenedEnvelope(None, envelope.payload_type, len(envelope.signatures), (), "payload is not a statement")
    verified: tuple[str, ...] = ()
    if keys and envelope.signatures:
        try:
            verified = tuple(sorted(envelope.verify(list(keys), 1)))
        except (SSlibError, ValueError):
            verified = ()
    return OpenedEnvelope(body, envelope.payload_type, len(envelope.signatures), verified, None)


def subject_digests(body: dict[str, Any]) -> list[str]:
    """The ``sha256:<hex>`` digests a statement's subjects name."""
    found: list[str] = []
    for subject in body.get("subject") or []:
        digest = subject.get("digest") if isinstance(subject, dict) else None
        if isinstance(digest, dict) and isinstance(digest.get("sha256"), str):
            found.append(f"sha256:{digest['sha256']}")
    return found
