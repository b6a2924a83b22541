"""A backup's manifest: what it holds, the ledger checkpoint it was taken at, and the digests to check.

A backup is a directory ``<backups>/<id>/`` holding ``manifest.json`` and ``payload.bin``.
The manifest's ``header`` is fixed before encryption and bound into every chunk's associated
data; ``ciphertext`` describes the payload as written. Neither ever holds key material: only
the key's reference (``env:NAME`` or ``file:PATH``) and a one-way key id.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from finpilot.core import IntegrityError

FORMAT = "finpilot-backup/1"
MANIFEST = "manifest.json"
PAYLOAD = "payload.bin"
BACKUP_ID = re.compile(r"[0-9]{8}T[0-9]{9}Z-[0-9a-f]{8}")
"""What ``create_backup`` names a backup (UTC time to the millisecond, then 8 random hex digits).

A manifest's ``id`` must match it in full and equal its directory's name: the id is not
authenticated until the payload is decrypted, and prune and restore act on the directory.
"""


@dataclass(frozen=True)
class Member:
    """One file inside a backup: ``kind`` is sqlite, postgres, keys or payments."""

    name: str
    kind: str
    source: str
    size: int
    sha256: str

    def to_json(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {"name": self.name, "kind": self.kind, "source": self.source, "size": self.size, "sha256": self.sha256}


@dataclass(frozen=True)
class BackupManifest:
    """What ``manifest.json`` says. ``header`` is authenticated by every chunk; ``ciphertext`` by the chunks' tags."""

    header: dict[str, Any]
    ciphertext: dict[str, Any]

    @property
    def id(self) -> str:
        """The backup's id (also its directory name)."""
        return str(self.header["id"])

    @property
    def created_at(self) -> datetime:
        """When the snapshot began: everything committed before this is in the backup."""
        return datetime.fromisoformat(str(self.header["snapshot_started_at"]))

    @property
    def members(self) -> list[Member]:
        """The files inside the payload."""
        return [Member(**m) for m in self.header["members"]]

    @property
    def checkpoint(self) -> dict[str, Any] | None:
        """The audit ledger's latest signed checkpoint when the backup was taken (seq, size, root, note)."""
        value = self.header.get("checkpoint")
        return dict(value) if isinstance(value, dict) else None

    def header_digest(self) -> bytes:
        """SHA-256 of the canonical header: the part every chunk's associated data binds."""
        return header_digest(self.header)

    def to_json(self) -> dict[str, Any]:
        """The manifest as written."""
        return {"format": FORMAT, "header": self.header, "ciphertext": self.ciphertext}

    def write(self, directory: Path) -> None:
        """Write ``manifest.json`` into ``directory``."""
        text = json.dumps(self.to_json(), indent=2, sort_keys=True) + "\n"
        with os.fdopen(os.open(directory / MANIFEST, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w") as fh:
            fh.write(text)


def header_digest(header: dict[str, Any]) -> bytes:
    """SHA-256 of the header in canonical JSON (sorted keys, no spaces)."""
    return hashlib.sha256(json.dumps(header, sort_keys=True, separators=(",", ":")).encode()).digest()


def read_manifest(directory: Path) -> BackupManifest:
    """Read and shape-check a backup's manifest; raise ``IntegrityError`` naming what is wrong."""
    path = directory / MANIFEST
    if directory.is_symlink():
        raise IntegrityError(
            f"{directory} is a symbolic link, not a backup directory",
            field="id",
            fix="backups are plain directories under the backup root; remove the link",
        )
    try:
        raw = json.loads(path.read_text())
    except FileNotFoundError:
        raise IntegrityError(f"{path} is missing", fix="this directory is not a finished backup") from None
    except (OSError, ValueError) as exc:
        raise IntegrityError(f"{path} is not readable JSON: {exc}") from None
    if not isinstance(raw, dict) or raw.get("format") != FORMAT:
        raise IntegrityError(f"{path} is not a {FORMAT} manifest")
    header, ciphertext = raw.get("header"), raw.get("ciphertext")
    if not isinstance(header, dict) or not isinstance(ciphertext, dict):
        raise IntegrityError(f"{path} lacks its header or ciphertext section")
    needed = ("id", "snapshot_started_at", "members", "key_id", "compression", "chunk_bytes", "plaintext")
    missing = [name for name in needed if name not in header]
    if missing:
        raise IntegrityError(f"{path}: header field {missing[0]!r} is missing")
    backup_id = header["id"]
    if not isinstance(backup_id, str) or not BACKUP_ID.fullmatch(backup_id) or backup_id != directory.name:
        raise IntegrityError(
            # The value is not echoed: it is unauthenticated and could hold anything.
            f"{path}: header field 'id' is not a backup id equal to its directory's name {directory.name!r} "
            "(ids look like 20250101T120000000Z-0123abcd)",
            field="id",
            fix="this is not a backup finpilot wrote: move it out of the backup directory",
        )
    try:
        manifest = BackupManifest(header, ciphertext)
        manifest.created_at  # noqa: B018 -- parse now, so a bad timestamp is reported here
        manifest.members  # noqa: B018
    except (TypeError, ValueError) as exc:
        raise IntegrityError(f"{path}: malformed header: {exc}") from None
    return manifest
