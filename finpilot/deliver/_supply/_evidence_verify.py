"""Verifying an evidence bundle offline, with no data directory: every problem names the file at fault.

Order of trust: the ledger key (given, or the bundle's ``log.pub``) checks ``checkpoint.txt``;
each proof ties an entry's exact bytes to that checkpoint's root; the seal entry names the digest
of ``manifest.json``; the manifest names the digest of every other file; each copied file must also
have the digest its (proved) entry names; each DSSE envelope must verify with the public key its
entry names, over a statement whose subject is the entry's artifact.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from finpilot.audit import verify_inclusion_proof
from finpilot.audit.kinds import DELIVER_EVIDENCE, DELIVER_PROVENANCE, DELIVER_SIGN
from finpilot.core import InputError, safe_child
from finpilot.deliver._supply._evidence_pack import BUNDLE_FORMAT, canonical
from finpilot.deliver._supply._keys import key_from_pem
from finpilot.deliver._supply._refs import file_refs
from finpilot.deliver._supply._statement import SLSA_PROVENANCE, open_envelope, subject_digests

_PROOF_KEYS = frozenset({"index", "tree_size", "leaf_hash", "root_hash", "hashes"})
_REQUIRED = (("buildDefinition", "buildType"), ("buildDefinition", "externalParameters"), ("runDetails", "builder"))


@dataclass(frozen=True, slots=True)
class BundleProblem:
    """One thing wrong with a bundle, and the file it is wrong in."""

    file: str
    detail: str

    def to_json(self) -> dict[str, str]:
        """JSON-ready form."""
        return {"file": self.file, "detail": self.detail}


@dataclass(slots=True)
class EvidenceReport:
    """The outcome of :func:`verify_evidence`."""

    release: str | None = None
    entries: int = 0
    files: int = 0
    envelopes: int = 0
    problems: list[BundleProblem] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when nothing is wrong."""
        return not self.problems

    def add(self, file: str, detail: str) -> None:
        """Record a problem in ``file``."""
        self.problems.append(BundleProblem(file, detail))

    def to_json(self) -> dict[str, Any]:
        """JSON-ready form (the ``--json`` shape of ``finpilot evidence verify``)."""
        return {
            "ok": self.ok,
            "release": self.release,
            "entries": self.entries,
            "files": self.files,
            "envelopes": self.envelopes,
            "problems": [p.to_json() for p in self.problems],
            "bad_files": sorted({p.file for p in self.problems}),
            "notes": self.notes,
        }


def _read(bundle: Path, name: str, report: EvidenceReport) -> bytes | None:
    try:
        path = safe_child(bundle, name, field="file", nested=True)
    except InputError:
        report.add(name, "names a file outside the bundle")
        return None
    if not path.is_file():
        report.add(name, "is missing from the bundle")
        return None
    return path.read_bytes()


def _json(data: bytes | None, name: str, report: EvidenceReport, *, strict: bool) -> Any:
    if data is None:
        return None
    try:
        parsed = json.loads(data)
    except ValueError:
        report.add(name, "is not JSON")
        return None
    if strict and canonical(parsed) != data:
        report.add(name, "is not in the bundle's canonical JSON form (edited)")
        return None
    return parsed


class _Proofs:
    """Checks entries against their proofs and the signed checkpoint, naming the file at fault."""

    def __init__(self, bundle: Path, key: str, report: EvidenceReport) -> None:
        self.bundle, self.key, self.report = bundle, key, report
        self.note = (_read(bundle, "checkpoint.txt", report) or b"").decode("utf-8", errors="replace")
        self.checkpoint_bad = False

    def check(self, entry_name: str, proof_name: str) -> dict[str, Any] | None:
        """The entry's fields when its bytes are proved into the signed checkpoint, else ``None``."""
        report = self.report
        data = _read(self.bundle, entry_name, report)
        proof = _json(_read(self.bundle, proof_name, report), proof_name, report, strict=True)
        if data is None or proof is None:
            return None
        if not isinstance(proof, dict) or set(proof) != _PROOF_KEYS:
            report.add(proof_name, "is not an inclusion proof")
            return None
        try:
            path_ok = verify_inclusion_proof(proof)
            leaf_ok = hashlib.sha256(b"\x00" + data).hexdigest() == proof["leaf_hash"]
            signed_ok = verify_inclusion_proof({**proof, "checkpoint": self.note}, self.key)
        except InputError as exc:
            report.add(proof_name, f"is not an inclusion proof: {exc.message}")
            return None
        if not path_ok:
            report.add(proof_name, "its hashes do not lead from the leaf to the root")
            return None
        if not leaf_ok:
            report.add(entry_name, "its bytes are not the leaf the proof proves (the entry was edited)")
            return None
        if not signed_ok:
            if not self.checkpoint_bad:
                report.add("checkpoint.txt", "is not signed by the ledger key or does not sign the proofs' root")
            self.checkpoint_bad = True
            return None
        try:
            fields = json.loads(data)
        except ValueError:
            fields = None
        if not isinstance(fields, dict):
            report.add(entry_name, "is not a JSON entry")
            return None
        return fields


def _check_envelope(
    bundle: Path, entry: dict[str, Any], index: int, located: dict[tuple[str, str], str], report: EvidenceReport
) -> None:
    evidence = entry.get("evidence") or {}
    output, public = evidence.get("output") or {}, evidence.get("public_key") or {}
    env_file = located.get((str(output.get("path")), str(output.get("digest"))))
    key_file = located.get((str(public.get("path")), str(public.get("digest"))))
    if env_file is None or key_file is None:
        return  # reported as missing already
    report.envelopes += 1
    key = key_from_pem(_read(bundle, key_file, report) or b"")
    if key is None or key.keyid != evidence.get("key_id"):
        report.add(key_file, f"is not the public key {evidence.get('key_id')} that entry {index} names")
        return
    data = _json(_read(bundle, env_file, report), env_file, report, strict=False)
    opened = open_envelope(data, [key])
    if opened.statement is None:
        report.add(env_file, opened.problem or "is not a DSSE envelope")
        return
    if not opened.verified_by:
        report.add(env_file, "bad signature: does not verify with the key its entry names")
    artifact = (evidence.get("artifact") or {}).get("digest")
    if artifact not in subject_digests(opened.statement):
        report.add(env_file, f"digest mismatch: its statement does not name the artifact {artifact}")
    if opened.statement.get("predicateType") != evidence.get("predicate_type"):
        report.add(env_file, "wrong predicate: not the type its entry names")
    if entry.get("kind") == DELIVER_PROVENANCE.name:
        predicate = opened.statement.get("predicate") or {}
        if opened.statement.get("predicateType") != SLSA_PROVENANCE or any(
            not isinstance(predicate.get(a), dict) or b not in predicate[a] for a, b in _REQUIRED
        ):
            report.add(env_file, "wrong predicate: not an SLSA v1 provenance with its required fields")


def verify_evidence(bundle: Path, public_key: str | None = None) -> EvidenceReport:
    """Verify an evidence bundle from its directory alone (see the module docstring).

    ``public_key`` is the ledger verifier key the auditor trusts (text or a file holding it);
    without it the bundle's own ``log.pub`` is used, which proves integrity but not authorship.
    """
    if not bundle.is_dir():
        raise InputError(f"{bundle} is not a directory", field="bundle", fix="pass the directory evidence pack wrote")
    report = EvidenceReport()
    if public_key is not None:
        key = Path(public_key).read_text() if Path(public_key).is_file() else public_key
    else:
        key = (_read(bundle, "log.pub", report) or b"").decode("utf-8", errors="replace")
        report.notes.append("ledger key taken from the bundle itself; pass the key you trust to prove authorship")
    proofs = _Proofs(bundle, key, report)
    seal = proofs.check("seal/entry.json", "seal/proof.json")
    manifest_bytes = _read(bundle, "manifest.json", report)
    manifest = _json(manifest_bytes, "manifest.json", report, strict=True)
    if seal is not None and manifest_bytes is not None:
        named = ((seal.get("evidence") or {}).get("manifest") or {}).get("digest")
        if seal.get("kind") != DELIVER_EVIDENCE.name or named != f"sha256:{hashlib.sha256(manifest_bytes).hexdigest()}":
            report.add("manifest.json", "its digest is not the one the seal entry names")
    if not isinstance(manifest, dict) or manifest.get("format") != BUNDLE_FORMAT:
        if manifest is not None:
            report.add("manifest.json", f"is not a {BUNDLE_FORMAT} manifest")
        return report
    report.release = str(manifest.get("release"))
    if seal is not None and seal.get("subject") != f"release:{report.release}":
        report.add("seal/entry.json", "seals another release")
    try:
        _check_listed(bundle, manifest, proofs, report)
    except (AttributeError, TypeError, ValueError, KeyError) as exc:
        # The seal check above already failed for any manifest an edit made malformed; say so plainly too.
        report.add("manifest.json", f"is malformed: {type(exc).__name__}")
    return report


def _check_listed(bundle: Path, manifest: dict[str, Any], proofs: _Proofs, report: EvidenceReport) -> None:
    """Check every file the manifest lists, every entry with its proof, the files entries name, the envelopes."""
    listed: dict[str, str] = dict(manifest.get("files") or {})
    for name, digest in sorted(listed.items()):
        data = _read(bundle, name, report)
        if data is not None and f"sha256:{hashlib.sha256(data).hexdigest()}" != digest:
            report.add(name, "differs from the digest in manifest.json")
    on_disk = {p.relative_to(bundle).as_posix() for p in bundle.rglob("*") if p.is_file()}
    for extra in sorted(on_disk - set(listed) - {"manifest.json", "checkpoint.txt"}):
        if not extra.startswith(("proofs/", "seal/")):
            report.add(extra, "is in the bundle but not in manifest.json")
    located = {(str(a.get("path")), str(a.get("digest"))): str(a.get("file")) for a in manifest.get("artifacts") or []}
    for problem in manifest.get("missing") or []:
        report.add("manifest.json", f"the bundle is incomplete: {problem}")
    for item in manifest.get("entries") or []:
        index = int(item.get("index", -1))
        entry = proofs.check(f"entries/{index}.json", f"proofs/{index}.json")
        if entry is None:
            continue
        report.entries += 1
        if entry.get("subject") != f"release:{report.release}":
            report.add(f"entries/{index}.json", f"is not about release {report.release}")
        for ref in file_refs(entry.get("evidence")):
            bundled = located.get((ref.path, ref.digest))
            if bundled is None:
                report.add("manifest.json", f"entry {index} names {ref.path}, which is not in the bundle")
                continue
            data = _read(bundle, bundled, report)
            report.files += 1
            if data is not None and f"sha256:{hashlib.sha256(data).hexdigest()}" != ref.digest:
                report.add(bundled, f"digest mismatch: entry {index} names {ref.digest} for it")
        if entry.get("kind") in (DELIVER_SIGN.name, DELIVER_PROVENANCE.name):
            _check_envelope(bundle, entry, index, located, report)
