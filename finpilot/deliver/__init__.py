"""Delivery: pipelines, security gates, the signed supply chain and progressive releases.

A release goes through a declared pipeline (steps in a DAG), security and compliance gates whose
findings land in one SARIF file, an SBOM and a signed SLSA provenance, and a canary that a
statistical judge compares with a baseline before it is promoted or rolled back. Every verdict is
an audit entry under a ``deliver.*`` kind.

The judge stands on its own::

    from finpilot.deliver import JudgeConfig, Samples, judge
    verdict = judge(Samples.from_csv(Path("b.csv")), Samples.from_csv(Path("c.csv")), JudgeConfig())

A pipeline is read, run and recorded (the caller chooses the ledger and the actor)::

    from finpilot.deliver import find_pipeline_file, load_pipeline, run_entry, run_pipeline
    record = run_pipeline(load_pipeline(find_pipeline_file(Path.cwd())), data_dir=data, release="payments-1.4.0")
    ledger.append(run_entry(record, data_dir=data, actor="cli:ana"))
"""

from finpilot.deliver._judge import (
    CsvDirectorySource,
    JudgeConfig,
    Judgement,
    MetricResult,
    Samples,
    SampleSet,
    SampleSource,
    Step,
    analysis_entry,
    config_digest,
    judge,
    next_step,
)
from finpilot.deliver._pipeline import (
    Pipeline,
    PipelineSpec,
    RunRecord,
    StepRecord,
    find_pipeline_file,
    list_runs,
    load_pipeline,
    load_run,
    read_log,
    run_entry,
    run_pipeline,
)
from finpilot.deliver._release import (
    RELEASE_ID,
    check_release,
    file_digest,
)
from finpilot.deliver._rollout import (
    ActionPolicy,
    ArtifactVerifier,
    ControllerPlatform,
    Decision,
    Platform,
    RolloutConfig,
    RolloutEngine,
    RolloutRecord,
    RolloutStore,
    StepContext,
    adopt_rollout,
    decide,
    new_rollout,
    render_canary,
    store_path,
)
from finpilot.deliver._supply import (
    ArtifactRef,
    ArtifactVerification,
    Attestation,
    BundleProblem,
    Check,
    EvidencePack,
    EvidenceReport,
    FileRef,
    SbomResult,
    default_key_path,
    load_public_key,
    load_signing_key,
    pack_evidence,
    record_attestation,
    record_sbom,
    sign_artifact,
    tree_digest,
    verify_artifact,
    verify_evidence,
    write_provenance,
    write_sbom,
)

__all__ = [
    "RELEASE_ID",
    "ActionPolicy",
    "ArtifactRef",
    "ArtifactVerification",
    "ArtifactVerifier",
    "Attestation",
    "BundleProblem",
    "Check",
    "ControllerPlatform",
    "CsvDirectorySource",
    "Decision",
    "EvidencePack",
    "EvidenceReport",
    "FileRef",
    "JudgeConfig",
    "Judgement",
    "MetricResult",
    "Pipeline",
    "PipelineSpec",
    "Platform",
    "RolloutConfig",
    "RolloutEngine",
    "RolloutRecord",
    "RolloutStore",
    "RunRecord",
    "SampleSet",
    "SampleSource",
    "Samples",
    "SbomResult",
    "Step",
    "StepContext",
    "StepRecord",
    "adopt_rollout",
    "analysis_entry",
    "check_release",
    "config_digest",
    "decide",
    "default_key_path",
    "file_digest",
    "find_pipeline_file",
    "judge",
    "list_runs",
    "load_pipeline",
    "load_public_key",
    "load_run",
    "load_signing_key",
    "new_rollout",
    "next_step",
    "pack_evidence",
    "read_log",
    "record_attestation",
    "record_sbom",
    "render_canary",
    "run_entry",
    "run_pipeline",
    "sign_artifact",
    "store_path",
    "tree_digest",
    "verify_artifact",
    "verify_evidence",
    "write_provenance",
    "write_sbom",
]
