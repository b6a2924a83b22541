"""Skipping a step whose inputs have not changed: its cache key and the outcome stored under it.

A step's key is the SHA-256 of its definition, the release when its command carries one (the
thin types), every file its ``inputs:`` globs match (path and content) and the keys of the
steps it needs, so a change anywhere upstream changes every key below it. Only passes are
stored; a hit reuses the recorded outcome and copies the artifacts again (each checked against
its recorded digest: a copy that no longer matches is a miss, and the step runs).
A step without ``inputs:`` is never cached: nothing says what it depends on.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from finpilot.deliver._pipeline._record import ArtifactRecord, cache_dir, private_dirs, run_dir, write_private
from finpilot.deliver._pipeline._spec import RunStep, StepBase
from finpilot.deliver._release import file_digest


def glob_files(root: Path, pattern: str) -> list[Path]:
    """The regular files under ``root`` that ``pattern`` matches, sorted (directories are not files)."""
    return sorted(p for p in root.glob(pattern) if p.is_file())


def cache_key(step: StepBase, *, root: Path, release: str | None, needed_keys: Sequence[str]) -> str | None:
    """The step's cache key (hex), or None when the step declares no ``inputs:``."""
    if not step.inputs:
        return None
    digest = hashlib.sha256()
    definition = step.model_dump(mode="json")
    head = {
        "definition": definition,
        "release": None if isinstance(step, RunStep) else release,
        "needs": list(needed_keys),
    }
    digest.update(json.dumps(head, sort_keys=True, separators=(",", ":")).encode())
    for pattern in step.inputs:
        digest.update(b"\0glob\0" + pattern.encode())
        for path in glob_files(root, pattern):
            digest.update(b"\0file\0" + path.relative_to(root).as_posix().encode() + b"\0")
            digest.update(file_digest(path).encode())
    return digest.hexdigest()


def store(data_dir: Path, key: str, *, run_id: str, step: str, outcome: dict[str, Any]) -> None:
    """Remember a passed step under ``key``."""
    where = private_dirs(data_dir, cache_dir(data_dir).relative_to(data_dir))
    write_private(where / f"{key}.json", json.dumps({"run_id": run_id, "step": step, **outcome}).encode())


def lookup(data_dir: Path, key: str) -> dict[str, Any] | None:
    """The outcome stored under ``key``, or None."""
    try:
        data: dict[str, Any] = json.loads((cache_dir(data_dir) / f"{key}.json").read_text(encoding="utf-8"))
    except (FileNotFoundError, ValueError):
        return None
    return data


def restore_artifacts(data_dir: Path, hit: dict[str, Any], into: Path) -> list[ArtifactRecord] | None:
    """Copy a hit's artifacts from the run that made them into run dir ``into``; None when any is gone or changed."""
    source = run_dir(data_dir, str(hit["run_id"]))
    records = [ArtifactRecord.model_validate(a) for a in hit.get("artifacts", [])]
    for record in records:
        path = source / record.path
        if not path.is_file() or file_digest(path) != record.digest:
            return None
    for record in records:
        target = into / record.path
        private_dirs(into, Path(record.path).parent)
        shutil.copyfile(source / record.path, target)
        target.chmod(0o600)
    return records
