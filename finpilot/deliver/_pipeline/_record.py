"""What a run leaves behind: ``run.json`` with each step's outcome, one log per step, the artifacts.

Layout, all private (directories 0700, files 0600)::

    <data>/pipelines/runs/<run-id>/run.json
                                  /logs/<step>.log
                                  /artifacts/<step>/<path relative to the step's working dir>
    <data>/pipelines/cache/<cache-key>.json

``run.json`` is rewritten (atomically) whenever a step changes state, so the console and
``pipeline show`` see a run while it is going.
"""

from __future__ import annotations

import json
import os
import re
import secrets
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from finpilot.core import InputError, NotFoundError, private_dir, private_file

StepStatus = Literal["pending", "running", "passed", "failed", "skipped", "cached"]
"""A step's state; ``cached`` is a pass reused from an earlier run with the same cache key."""

RUN_ID = re.compile(r"^[0-9]{8}T[0-9]{6}Z-[0-9a-f]{8}$")
"""A run id: its UTC start and a random suffix (``20260101T120000Z-1a2b3c4d``); sorts by time."""

_LOG_TAIL_BYTES = 64 * 1024


class ArtifactRecord(BaseModel):
    """One collected file: its name, path (relative to the run directory), size and digest."""

    model_config = ConfigDict(extra="forbid")

    name: str
    path: str
    size: int
    digest: str = Field(description="sha256:<hex> of the file's bytes.")


class StepRecord(BaseModel):
    """One step of one run."""

    model_config = ConfigDict(extra="forbid")

    name: str
    type: str
    needs: list[str]
    status: StepStatus = "pending"
    started_at: str | None = None
    duration_s: float | None = None
    exit_code: int | None = None
    reason: str | None = Field(default=None, description="Why it failed or was skipped, in words.")
    cache_key: str | None = None
    cached_from: str | None = Field(default=None, description="The run whose outcome a cached step reused.")
    argv: list[str] = Field(default_factory=list)
    log: str | None = Field(default=None, description="The log's path, relative to the run directory.")
    artifacts: list[ArtifactRecord] = Field(default_factory=list)
    junit: dict[str, Any] | None = None


class RunRecord(BaseModel):
    """One run of a pipeline."""

    model_config = ConfigDict(extra="forbid")

    id: str
    pipeline: str
    pipeline_file: str
    pipeline_digest: str
    release: str | None
    status: Literal["running", "passed", "failed"] = "running"
    started_at: str
    duration_s: float | None = None
    only: str | None = None
    cache: bool = True
    steps: list[StepRecord]

    def step(self, name: str) -> StepRecord:
        """The record of step ``name``."""
        for step in self.steps:
            if step.name == name:
                return step
        raise NotFoundError(f"run {self.id} has no step '{name}'", field="step")


def new_run_id(now: datetime) -> str:
    """A fresh run id for a run starting at ``now``."""
    return f"{now.strftime('%Y%m%dT%H%M%SZ')}-{secrets.token_hex(4)}"


def runs_dir(data_dir: Path) -> Path:
    """Where runs are kept (not created)."""
    return data_dir / "pipelines" / "runs"


def cache_dir(data_dir: Path) -> Path:
    """Where cache entries are kept (not created)."""
    return data_dir / "pipelines" / "cache"


def run_dir(data_dir: Path, run_id: str) -> Path:
    """The directory of run ``run_id``; :class:`InputError` for anything that is not a run id."""
    if not RUN_ID.match(run_id):
        raise InputError(f"'{run_id[:80]}' is not a run id", field="run", fix="use an id from `finpilot pipeline list`")
    return runs_dir(data_dir) / run_id


def private_dirs(base: Path, relative: Path | str) -> Path:
    """Create ``base/relative`` with ``base`` and every directory below it 0700 (``mkdir -p`` would leave
    the intermediate ones to the umask), and return it."""
    current = private_dir(base)
    for part in Path(relative).parts:
        current = private_dir(current / part)
    return current


def write_private(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` 0600, atomically (a reader sees the old file or the new one)."""
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    private_file(tmp)
    with tmp.open("wb") as handle:
        handle.write(data)
    os.replace(tmp, path)


def save_run(data_dir: Path, record: RunRecord) -> Path:
    """Write ``run.json`` of ``record``; return the run directory."""
    where = private_dirs(data_dir, run_dir(data_dir, record.id).relative_to(data_dir))
    write_private(where / "run.json", record.model_dump_json(indent=2).encode())
    return where


def load_run(data_dir: Path, run_id: str) -> RunRecord:
    """The record of run ``run_id``; :class:`NotFoundError` when there is none."""
    path = run_dir(data_dir, run_id) / "run.json"
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise NotFoundError(
            f"no pipeline run '{run_id}'", field="run", fix="use an id from `finpilot pipeline list`"
        ) from None
    return RunRecord.model_validate_json(text)


def list_runs(data_dir: Path, *, limit: int = 100) -> list[RunRecord]:
    """The newest ``limit`` runs, newest first; unreadable ones are left out."""
    root = runs_dir(data_dir)
    if not root.is_dir():
        return []
    ids = sorted((p.name for p in root.iterdir() if RUN_ID.match(p.name)), reverse=True)
    found: list[RunRecord] = []
    for run_id in ids:
        if len(found) >= limit:
            break
        try:
            found.append(load_run(data_dir, run_id))
        except (NotFoundError, ValueError):
            continue  # a run being created, or damaged: the list shows what can be read
    return found


def read_log(data_dir: Path, run_id: str, step: str, *, tail_bytes: int = _LOG_TAIL_BYTES) -> tuple[str, int, bool]:
    """The last ``tail_bytes`` of a step's log: (text, whole size, whether it was cut)."""
    record = load_run(data_dir, run_id)
    step_record = record.step(step)
    if step_record.log is None:
        return "", 0, False
    path = run_dir(data_dir, run_id) / step_record.log
    try:
        with path.open("rb") as handle:
            size = handle.seek(0, os.SEEK_END)
            start = max(0, size - tail_bytes)
            handle.seek(start)
            data = handle.read()
    except FileNotFoundError:
        return "", 0, False
    return data.decode("utf-8", errors="replace"), size, start > 0


def to_json(record: RunRecord) -> dict[str, Any]:
    """The record as JSON (what ``run.json`` holds and ``--json`` prints)."""
    data: dict[str, Any] = json.loads(record.model_dump_json())
    return data
