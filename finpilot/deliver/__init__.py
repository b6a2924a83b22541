"""Delivery: pipelines, security gates, the signed supply chain and progressive releases.

A release goes through a declared pipeline (steps in a DAG), security and compliance gates whose
findings land in one SARIF file, an SBOM and a signed SLSA provenance, and a canary that a
statistical judge compares with a baseline before it is promoted or rolled back. Every verdict is
an audit entry under a ``deliver.*`` kind.

The judge stands on its own::

    from finpilot.deliver import JudgeConfig, Samples, judge
    verdict = judge(Samples.from_csv(Path("b.csv")), Samples.from_csv(Path("c.csv")), JudgeConfig())
"""

from finpilot.deliver._gate import (
    INSTALL_FIX,
    Finding,
    GateConfig,
    GateResult,
    ScannerError,
    ScannerMissingError,
    Waiver,
    junit_xml,
    load_baseline,
    load_waivers,
    markdown,
    run_gate,
    to_sarif,
)
from finpilot.deliver._judge import JudgeConfig, Judgement, MetricResult, Samples, judge

__all__ = [
    "INSTALL_FIX",
    "Finding",
    "GateConfig",
    "GateResult",
    "JudgeConfig",
    "Judgement",
    "MetricResult",
    "Samples",
    "ScannerError",
    "ScannerMissingError",
    "Waiver",
    "judge",
    "junit_xml",
    "load_baseline",
    "load_waivers",
    "markdown",
    "run_gate",
    "to_sarif",
]
