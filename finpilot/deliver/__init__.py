"""Delivery: pipelines, security gates, the signed supply chain and progressive releases.

A release goes through a declared pipeline (steps in a DAG), security and compliance gates whose
findings land in one SARIF file, an SBOM and a signed SLSA provenance, and a canary that a
statistical judge compares with a baseline before it is promoted or rolled back. Every verdict is
an audit entry under a ``deliver.*`` kind.

The judge stands on its own::

    from finpilot.deliver import JudgeConfig, Samples, judge
    verdict = judge(Samples.from_csv(Path("b.csv")), Samples.from_csv(Path("c.csv")), JudgeConfig())
"""

from finpilot.deliver._judge import JudgeConfig, Judgement, MetricResult, Samples, judge
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
    Step,
    StepContext,
    adopt_rollout,
    decide,
    new_rollout,
    render_canary,
    store_path,
)

__all__ = [
    "ActionPolicy",
    "ArtifactVerifier",
    "ControllerPlatform",
    "Decision",
    "JudgeConfig",
    "Judgement",
    "MetricResult",
    "Platform",
    "RolloutConfig",
    "RolloutEngine",
    "RolloutRecord",
    "RolloutStore",
    "Samples",
    "Step",
    "StepContext",
    "adopt_rollout",
    "decide",
    "judge",
    "new_rollout",
    "render_canary",
    "store_path",
]
