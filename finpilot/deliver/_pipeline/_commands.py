"""Each step as the command it runs: ``run`` as written, the thin types as their finpilot CLI command.

The thin types are exactly the commands a GitHub Actions or GitLab CI job would run by hand,
so a pipeline and a CI file calling the steps one by one do the same thing:

====================  ===============================================================================
``gate``              ``finpilot gate run PATH --sarif F [--config] [--baseline] [--waivers] [--junit]
                      [--report] [--release ID] --json``
``sbom``              ``finpilot sbom PATH --out F [--release ID] --json``
``sign``              ``finpilot sign ARTIFACT --out F [--key K] [--release ID] --json``
``provenance``        ``finpilot provenance ARTIFACT --out F [--key K] [--release ID] --json``
``deploy``            ``finpilot rollout start SERVICE --release ID [--artifact F] [--signature F]
                      [--provenance F] [--public-key K] [--require-signature] [args...] --json``
====================  ===============================================================================
"""

from __future__ import annotations

import shlex
from collections.abc import Callable

from finpilot.core import InputError
from finpilot.deliver._pipeline._load import REFERENCE
from finpilot.deliver._pipeline._spec import (
    DeployStep,
    GateStep,
    ProvenanceStep,
    RunStep,
    SbomStep,
    SignStep,
    StepBase,
)

FINPILOT = "finpilot"
"""The program the thin steps run, looked up on the step's PATH."""

Resolve = Callable[[str, str], str]
"""``resolve(step, artifact)``: the path of an earlier step's artifact in this run."""


def builtin_artifacts(step: StepBase) -> dict[str, str]:
    """The artifacts a thin step's command writes, by name (a ``run`` step declares its own)."""
    if isinstance(step, GateStep):
        named = {"sarif": step.sarif, "junit": step.junit, "report": step.report}
        return {k: v for k, v in named.items() if v is not None}
    if isinstance(step, SbomStep):
        return {"sbom": step.out}
    if isinstance(step, SignStep):
        return {"signature": step.out}
    if isinstance(step, ProvenanceStep):
        return {"provenance": step.out}
    return {}


def substitute(value: str, resolve: Resolve) -> str:
    """``value`` with every ``${steps.<step>.artifacts.<name>}`` replaced by that artifact's path."""
    return REFERENCE.sub(lambda m: resolve(m.group(1), m.group(2)), value)


def _release(release: str | None) -> list[str]:
    return ["--release", release] if release else []


def step_argv(step: StepBase, *, release: str | None, resolve: Resolve) -> list[str]:
    """The argv the step runs (no shell), references substituted."""

    def sub(value: str) -> str:
        return substitute(value, resolve)

    if isinstance(step, RunStep):
        parts = shlex.split(step.command) if isinstance(step.command, str) else list(step.command)
        return [sub(p) for p in parts]
    if isinstance(step, GateStep):
        argv = [FINPILOT, "gate", "run", sub(step.path), "--sarif", sub(step.sarif)]
        for flag, value in (
            ("--config", step.config),
            ("--baseline", step.baseline),
            ("--waivers", step.waivers),
            ("--junit", step.junit),
            ("--report", step.report),
        ):
            if value is not None:
                argv += [flag, sub(value)]
        return [*argv, *_release(release), "--json"]
    if isinstance(step, SbomStep):
        return [FINPILOT, "sbom", sub(step.path), "--out", sub(step.out), *_release(release), "--json"]
    if isinstance(step, SignStep | ProvenanceStep):
        verb = "sign" if isinstance(step, SignStep) else "provenance"
        key = ["--key", sub(step.key)] if step.key else []
        return [FINPILOT, verb, sub(step.artifact), "--out", sub(step.out), *key, *_release(release), "--json"]
    if isinstance(step, DeployStep):
        if not release:
            raise InputError(
                "a deploy step needs a release", field="--release", fix="run the pipeline with --release ID"
            )
        argv = [FINPILOT, "rollout", "start", sub(step.service), "--release", release]
        for flag, value in (
            ("--artifact", step.artifact),
            ("--signature", step.signature),
            ("--provenance", step.provenance),
            ("--public-key", step.public_key),
        ):
            if value is not None:
                argv += [flag, sub(value)]
        if step.require_signature:
            argv.append("--require-signature")
        return [*argv, *map(sub, step.args), "--json"]
    raise InputError(f"no command for step type {type(step).__name__}")  # pragma: no cover - the union is closed
