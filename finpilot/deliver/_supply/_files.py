"""Digests, file references and release ids: the vocabulary every supply-chain record shares."""

from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass
from pathlib import Path

from finpilot.core import InputError
from finpilot.deliver._release import file_digest, sha256_hex

DIGEST = re.compile(r"^sha256:[0-9a-f]{64}$")
_SKIP_DIRS = frozenset({".git", "__pycache__", ".venv", ".mypy_cache", ".ruff_cache", ".pytest_cache"})


def tree_digest(root: Path) -> str:
    """``sha256:<hex>`` of a directory: SHA-256 over the sorted ``<hex>  <relative path>`` lines of its files.

    The lines are what ``sha256sum`` prints, so ``find . -type f | sort | xargs sha256sum | sha256sum``
    reproduces it where no file name needs escaping; caches and ``.git`` are left out.
    """
    lines: list[str] = []
    for current, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if d not in _SKIP_DIRS)
        for name in files:
            path = Path(current) / name
            if path.is_file() and not path.is_symlink():
                lines.append(f"{sha256_hex(path)}  {path.relative_to(root).as_posix()}\n")
    return "sha256:" + hashlib.sha256("".join(sorted(lines, key=lambda s: s[66:])).encode()).hexdigest()


def need_file(path: Path, field: str) -> Path:
    """Return ``path`` when it is a readable file; raise :class:`InputError` naming ``field`` otherwise."""
    if not path.is_file():
        raise InputError(f"{path} is not a file", field=field, fix=f"pass an existing file as {field}")
    return path


@dataclass(frozen=True, slots=True)
class FileRef:
    """A file as a deliver entry names it: where it is and the digest of its bytes."""

    path: str
    digest: str

    @classmethod
    def of(cls, path: Path) -> FileRef:
        """The reference of an existing file (its absolute path and current digest)."""
        return cls(path=str(path.resolve()), digest=file_digest(path))

    def to_json(self) -> dict[str, str]:
        """JSON-ready form ``{path, digest}``."""
        return {"path": self.path, "digest": self.digest}


@dataclass(frozen=True, slots=True)
class ArtifactRef:
    """The artifact a statement speaks about: its name and digest."""

    name: str
    digest: str

    @classmethod
    def of(cls, path: Path) -> ArtifactRef:
        """A file's name and digest, or a directory's name and tree digest."""
        digest = tree_digest(path) if path.is_dir() else file_digest(path)
        return cls(name=path.resolve().name, digest=digest)

    @property
    def hex(self) -> str:
        """The bare hex digest."""
        return self.digest.removeprefix("sha256:")

    def to_json(self) -> dict[str, str]:
        """JSON-ready form ``{name, digest}``."""
        return {"name": self.name, "digest": self.digest}


def subject_for(release: str | None, artifact: ArtifactRef) -> str:
    """The audit subject: ``release:<ID>`` when the work is for a release, else ``artifact:<name>``."""
    return f"release:{release}" if release is not None else f"artifact:{artifact.name}"
