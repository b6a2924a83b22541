"""Evidence bundles: everything an auditor needs to check one release offline.

Layout of a bundle (``BUNDLE_FORMAT``)::

    manifest.json        release, entries, the files entries name, and the sha256 of every file below
    entries/<i>.json     the exact leaf bytes of ledger entry i (subject release:<ID>)
    files/<hex12>-<name> each file an entry names as {path, digest}, copied when its bytes still match
    log.pub, log.pem     the ledger's checkpoint verifier key (C2SP) and its PEM
    checkpoint.txt       a signed checkpoint (C2SP signed note) covering every entry in the bundle
    proofs/<i>.json      the RFC 9162 inclusion proof of entry i in that checkpoint's tree
    seal/entry.json      the deliver.evidence entry, whose evidence holds manifest.json's digest
    seal/proof.json      its inclusion proof

The manifest is sealed by a ledger entry rather than signed by its own key: the seal is proved
into the same signed checkpoint as the entries, so one trusted key (the ledger's) checks it all.
"""

from __future__ import annotations

import json
import re
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from finpilot.audit import Ledger
from finpilot.audit.kinds import DELIVER_EVIDENCE
from finpilot.core import InputError, NotFoundError, rfc3339, utc_now
from finpilot.deliver._release import check_release, file_digest
from finpilot.deliver._supply._files import FileRef
from finpilot.deliver._supply._refs import file_refs

BUNDLE_FORMAT = "finpilot-evidence-bundle/1"
_SAFE = re.compile(r"[^A-Za-z0-9._-]")


def canonical(data: Any) -> bytes:
    """The one byte form of the bundle's own JSON files (sorted keys, no spaces): any edit shows."""
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode()


@dataclass(frozen=True, slots=True)
class EvidencePack:
    """A bundle written: where, for which release, what it holds, and what could not be included."""

    directory: Path
    release: str
    entries: int
    files: int
    missing: tuple[str, ...]
    seal_index: int
    tree_size: int

    @property
    def complete(self) -> bool:
        """True when every file the entries name is in the bundle."""
        return not self.missing

    def to_json(self) -> dict[str, Any]:
        """JSON-ready form (the ``--json`` shape of ``finpilot evidence pack``)."""
        return {
            "directory": str(self.directory),
            "release": self.release,
            "entries": self.entries,
            "files": self.files,
            "missing": list(self.missing),
            "complete": self.complete,
            "seal_index": self.seal_index,
            "tree_size": self.tree_size,
        }


def release_entries(ledger: Ledger, release: str) -> list[tuple[int, bytes]]:
    """``(index, leaf bytes)`` of every entry whose subject is ``release:<release>``."""
    # Release ids hold no character JSON escapes, so the subject appears verbatim in the leaf.
    needle = f'"subject":"release:{release}"'.encode()
    found: list[tuple[int, bytes]] = []
    size = ledger.size
    for index, data in ledger.store.iter_entries():
        if index >= size:
            break
        if needle in data and json.loads(data).get("subject") == f"release:{release}":
            found.append((index, data))
    return found


def _proof_json(ledger: Ledger, index: int, tree_size: int) -> bytes:
    proof = ledger.inclusion_proof(index, tree_size)
    return canonical(
        {
            "index": proof.index,
            "tree_size": proof.tree_size,
            "leaf_hash": proof.leaf_hash.hex(),
            "root_hash": proof.root_hash.hex(),
            "hashes": [h.hex() for h in proof.hashes],
        }
    )


def pack_evidence(ledger: Ledger, release: str, directory: Path, *, actor: str) -> EvidencePack:
    """Write the evidence bundle of ``release`` into a new or empty ``directory`` (see the module docstring).

    Appends a ``deliver.evidence`` entry (the seal) and signs a checkpoint covering it. Files that
    entries name but that are gone or changed since are listed as missing, and the seal's outcome
    is then ``incomplete``.
    """
    check_release(release)
    if directory.exists() and (not directory.is_dir() or any(directory.iterdir())):
        raise InputError(f"{directory} is not an empty directory", field="out", fix="pack into a new directory")
    rows = release_entries(ledger, release)
    if not rows:
        raise NotFoundError(
            f"the ledger holds no entry with subject release:{release}",
            field="release",
            fix="run sbom, sign, provenance or a gate with --release first",
        )
    for sub in ("entries", "files", "proofs", "seal"):
        (directory / sub).mkdir(parents=True, exist_ok=True)
    listed: list[dict[str, Any]] = []
    artifacts: list[dict[str, Any]] = []
    missing: list[str] = []
    copied: dict[str, str] = {}
    for index, data in rows:
        name = f"entries/{index}.json"
        (directory / name).write_bytes(data)
        leaf = json.loads(data)
        listed.append({"index": index, "file": name, "kind": leaf.get("kind")})
        for ref in file_refs(leaf.get("evidence")):
            if ref.digest not in copied:
                source = Path(ref.path)
                if not source.is_file() or file_digest(source) != ref.digest:
                    missing.append(f"{ref.path} ({'changed' if source.is_file() else 'gone'}; entry {index})")
                    continue
                target = f"files/{ref.digest[7:19]}-{_SAFE.sub('_', source.name)[:80]}"
                shutil.copyfile(source, directory / target)
                copied[ref.digest] = target
            artifacts.append({"entry": index, "path": ref.path, "digest": ref.digest, "file": copied[ref.digest]})
    (directory / "log.pub").write_text(ledger.verifier_key() + "\n")
    (directory / "log.pem").write_text(ledger.public_key_pem())
    files = sorted(
        p.relative_to(directory).as_posix() for p in directory.rglob("*") if p.is_file() and p.parent.name != "seal"
    )
    manifest = {
        "format": BUNDLE_FORMAT,
        "release": release,
        "created_at": rfc3339(utc_now()),
        "origin": ledger.origin,
        "entries": listed,
        "artifacts": artifacts,
        "missing": missing,
        "files": {name: file_digest(directory / name) for name in files},
        "hashing": "files: sha256 of their bytes; entries: RFC 9162 leaves, proved into checkpoint.txt",
    }
    (directory / "manifest.json").write_bytes(canonical(manifest))
    seal = DELIVER_EVIDENCE.entry(
        actor=actor,
        action="pack",
        subject=f"release:{release}",
        outcome="incomplete" if missing else "ok",
        evidence={
            "release": release,
            "manifest": FileRef.of(directory / "manifest.json").to_json(),
            "entries": len(rows),
            "files": len(copied),
            "missing": missing,
        },
    )
    seal_index = ledger.append(seal)
    checkpoint = ledger.checkpoint()
    assert checkpoint is not None  # the append above made the log grow, so there is one
    (directory / "checkpoint.txt").write_text(checkpoint.note)
    for index, _ in rows:
        (directory / f"proofs/{index}.json").write_bytes(_proof_json(ledger, index, checkpoint.size))
    (directory / "seal" / "entry.json").write_bytes(ledger.entry(seal_index).data)
    (directory / "seal" / "proof.json").write_bytes(_proof_json(ledger, seal_index, checkpoint.size))
    return EvidencePack(
        directory=directory,
        release=release,
        entries=len(rows),
        files=len(copied),
        missing=tuple(missing),
        seal_index=seal_index,
        tree_size=checkpoint.size,
    )
