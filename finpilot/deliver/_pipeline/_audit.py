"""The run's audit entry: ``deliver.pipeline_run``, appended when the run ends."""

from __future__ import annotations

import re
from pathlib import Path

from finpilot.audit import Entry
from finpilot.audit.kinds import DELIVER_PIPELINE_RUN
from finpilot.core import InputError
from finpilot.deliver._pipeline._cache import file_digest
from finpilot.deliver._pipeline._record import RunRecord, run_dir

RELEASE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@+-]{0,127}$")
"""What a release id may look like (``payments-1.4.0``, ``payments@sha256-ab12``)."""


def check_release(release: str | None) -> str | None:
    """``release`` when it is a valid release id (or None); :class:`InputError` naming ``--release`` otherwise."""
    if release is not None and not RELEASE_ID.match(release):
        raise InputError(
            "the release id is not valid",
            field="--release",
            fix="use letters, digits and . _ @ + - (up to 128, starting with a letter or digit), e.g. payments-1.4.0",
        )
    return release


def run_entry(record: RunRecord, *, data_dir: Path, actor: str) -> Entry:
    """The ``deliver.pipeline_run`` entry of a finished run (subject ``release:<ID>``, else ``pipeline:<name>``)."""
    where = run_dir(data_dir, record.id).resolve()
    pipeline_file = Path(record.pipeline_file)
    definition = {
        "path": str(pipeline_file.resolve()),
        "digest": file_digest(pipeline_file) if pipeline_file.is_file() else record.pipeline_digest,
    }
    evidence = {
        "run_id": record.id,
        "pipeline": record.pipeline,
        "definition": definition,
        "definition_digest": record.pipeline_digest,
        "release": record.release,
        "only": record.only,
        "steps": [
            {
                "name": s.name,
                "type": s.type,
                "status": s.status,
                "duration_s": s.duration_s,
                "exit_code": s.exit_code,
                "cache_hit": s.status == "cached",
            }
            for s in record.steps
        ],
        "artifacts": [
            {"step": s.name, "name": a.name, "path": str(where / a.path), "digest": a.digest}
            for s in record.steps
            for a in s.artifacts
        ],
        "verdict": "passed" if record.status == "passed" else "failed",
        "duration_s": record.duration_s or 0.0,
    }
    subject = f"release:{record.release}" if record.release else f"pipeline:{record.pipeline}"
    return DELIVER_PIPELINE_RUN.entry(
        actor=actor,
        action="run",
        subject=subject,
        outcome="ok" if record.status == "passed" else "failed",
        evidence=evidence,
    )
