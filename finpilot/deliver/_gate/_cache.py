"""Per-scanner result cache keyed by the content of the files it reads, its version and its settings.

An unchanged re-run then skips the scanners and only re-applies the baseline, waivers and policy.
Tool versions are cached by the program's path, size and mtime, since asking some tools for
their version costs seconds.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable, Sequence
from pathlib import Path

from finpilot.deliver._gate._finding import RawFinding

CACHE_VERSION = 1


def files_digest(root: Path, files: Sequence[str]) -> str:
    """SHA-256 over each file's relative path and bytes, in order."""
    h = hashlib.sha256()
    for f in files:
        h.update(f.encode() + b"\0")
        h.update(hashlib.sha256((root / f).read_bytes()).digest())
    return h.hexdigest()


class ResultCache:
    """Cached findings per scanner under ``folder`` (private files)."""

    def __init__(self, folder: Path) -> None:
        """Create the folder if needed."""
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)

    def key(self, tool: str, version: str, settings: str, files_hash: str) -> str:
        """The cache key of one scanner run."""
        material = json.dumps([CACHE_VERSION, tool, version, settings, files_hash])
        return hashlib.sha256(material.encode()).hexdigest()

    def get(self, tool: str, key: str) -> tuple[list[RawFinding], str | None] | None:
        """The findings (and advisory source) stored under ``key``, or ``None``."""
        path = self.folder / f"{tool}-{key}.json"
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            return [RawFinding.from_json(f) for f in data["findings"]], data.get("source")
        except (OSError, ValueError, KeyError, TypeError):
            return None  # a missing or damaged entry is a miss, never a pass

    def put(self, tool: str, key: str, findings: Sequence[RawFinding], source: str | None) -> None:
        """Store a scanner's findings; older entries of the same tool are removed."""
        for old in self.folder.glob(f"{tool}-*.json"):
            old.unlink(missing_ok=True)
        tmp = self.folder / f".{tool}-{key}.tmp"
        tmp.write_text(json.dumps({"findings": [f.to_json() for f in findings], "source": source}), encoding="utf-8")
        os.replace(tmp, self.folder / f"{tool}-{key}.json")

    def version(self, program_path: str, ask: Callable[[], str]) -> str:
        """The tool's version, asked once per program file (path, size, mtime)."""
        st = os.stat(program_path)
        name = hashlib.sha256(f"{program_path}\0{st.st_size}\0{st.st_mtime_ns}".encode()).hexdigest()[:24]
        path = self.folder / f"version-{name}.txt"
        try:
            return path.read_text(encoding="utf-8")
        except OSError:
            version = ask()
            path.write_text(version, encoding="utf-8")
            return version
