"""Export bundles: everything an auditor needs to verify the log offline, and nothing personal."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from finpilot.audit._verifier import BUNDLE_FORMAT
from finpilot.core import InputError, rfc3339, utc_now

if TYPE_CHECKING:
    from finpilot.audit._ledger import Ledger


def _digest(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def export_bundle(ledger: Ledger, directory: Path) -> dict[str, Any]:
    """Write ``entries.jsonl`` (line i is the exact leaf bytes of entry i), ``checkpoints.jsonl``,
    ``log.pub`` (verifier key), ``log.pem`` and ``manifest.json`` into an empty directory."""
    if directory.exists() and any(directory.iterdir()):
        raise InputError(f"{directory} is not empty", field="directory", fix="export into a new or empty directory")
    directory.mkdir(parents=True, exist_ok=True)
    latest = ledger.checkpoint()  # cover everything exported by a signature, when there is anything
    size = latest.size if latest is not None else 0
    with (directory / "entries.jsonl").open("wb") as fh:
        for index, data in ledger.store.iter_entries():
            if index >= size:
                break
            fh.write(data + b"\n")
    cps = [c for c in ledger.checkpoints() if c.size <= size]
    with (directory / "checkpoints.jsonl").open("w") as fh:
        for cp in cps:
            fh.write(json.dumps(cp.to_json(), sort_keys=True) + "\n")
    (directory / "log.pub").write_text(ledger.verifier_key() + "\n")
    (directory / "log.pem").write_text(ledger.public_key_pem())
    files = {name: _digest(directory / name) for name in ("entries.jsonl", "checkpoints.jsonl", "log.pub", "log.pem")}
    manifest = {
        "format": BUNDLE_FORMAT,
        "origin": ledger.origin,
        "tree_size": size,
        "root_hash": latest.root.hex() if latest is not None else None,
        "checkpoints": len(cps),
        "exported_at": rfc3339(utc_now()),
        "files": files,
        "hashing": "RFC 9162 SHA-256; leaf = SHA-256(0x00 || line bytes without the newline)",
        "signatures": "C2SP signed-note checkpoints, Ed25519; verifier key in log.pub",
    }
    (directory / "manifest.json").write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    return manifest
