"""The run's audit entry: ``deliver.pipeline_run``, appended when the run ends."""

from __future__ import annotations

from pathlib import Path

from finpilot.audit import Entry
from finpilot.audit.kinds import DELIVER_PIPELINE_RUN
from finpilot.deliver._pipeline._record import RunRecord, run_dir
from finpilot.deliver._release import file_digest

"""What a release id may look like (``payments-1.4.0``, ``payments@sha256-ab12``)."""


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
