"""Declarative pipelines: steps in a DAG, run with a content-hash cache, recorded and audited.

Typical use::

    pipeline = load_pipeline(find_pipeline_file(Path.cwd()))
    record = run_pipeline(pipeline, data_dir=settings.data_dir, release="payments-1.4.0")
    ledger.append(run_entry(record, data_dir=settings.data_dir, actor="cli:ana"))
"""

from finpilot.deliver._pipeline._audit import run_entry
from finpilot.deliver._pipeline._cache import cache_key
from finpilot.deliver._pipeline._commands import step_argv
from finpilot.deliver._pipeline._dag import find_cycle, topological
from finpilot.deliver._pipeline._junit import JUnitFailure, JUnitSummary, parse_junit
from finpilot.deliver._pipeline._load import Pipeline, find_pipeline_file, load_pipeline
from finpilot.deliver._pipeline._record import (
    ArtifactRecord,
    RunRecord,
    StepRecord,
    StepStatus,
    list_runs,
    load_run,
    read_log,
    run_dir,
)
from finpilot.deliver._pipeline._runner import OnChange, run_pipeline
from finpilot.deliver._pipeline._spec import STEP_TYPES, PipelineSpec

__all__ = [
    "STEP_TYPES",
    "ArtifactRecord",
    "JUnitFailure",
    "JUnitSummary",
    "OnChange",
    "Pipeline",
    "PipelineSpec",
    "RunRecord",
    "StepRecord",
    "StepStatus",
    "cache_key",
    "find_cycle",
    "find_pipeline_file",
    "list_runs",
    "load_pipeline",
    "load_run",
    "parse_junit",
    "read_log",
    "run_dir",
    "run_entry",
    "run_pipeline",
    "step_argv",
    "topological",
]
