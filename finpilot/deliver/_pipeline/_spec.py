"""The pipeline file's models: named steps, each of one declared ``type``, with ``needs:`` edges.

Every model refuses unknown fields, so a typo is an error naming the field, the file and the
line (see :mod:`finpilot.deliver._pipeline._load`). The thin step types (``gate``, ``sbom``,
``sign``, ``provenance``, ``deploy``) carry only what their finpilot command takes; ``run`` is
the general one.
"""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import Field, field_validator

from finpilot.core import StrictModel

STEP_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")
"""A step name: it is also a file name (``logs/<step>.log``) and part of ``${steps.<name>...}``."""

ARTIFACT_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")
"""An artifact's name, as ``${steps.<step>.artifacts.<name>}`` refers to it."""


def _inside(pattern: str) -> str:
    # Globs and directories stay inside the pipeline's directory: a run never reads or collects
    # files from elsewhere on the host (an artifact's copy would otherwise leak them into the run).
    if not pattern or pattern.startswith(("/", "\\")) or ".." in pattern.replace("\\", "/").split("/"):
        raise ValueError(f"{pattern!r} must be a relative path inside the pipeline's directory (no '..')")
    return pattern


class StepBase(StrictModel):
    """What every step may say, whatever its type."""

    needs: list[str] = Field(default_factory=list, description="Steps that must pass (or be cached) first.")
    inputs: list[str] = Field(
        default_factory=list,
        description="Globs (relative to the pipeline's directory) whose content is part of the cache key. "
        "A step without inputs is never cached.",
    )
    artifacts: dict[str, str] = Field(
        default_factory=dict,
        description="Named outputs: name -> glob relative to the step's working directory, copied into the run.",
    )
    env: dict[str, str] = Field(default_factory=dict, description="Extra environment variables for the step.")
    working_dir: str = Field(default=".", description="Directory the step runs in, relative to the pipeline's.")
    timeout_s: float = Field(default=3600.0, gt=0, le=86_400, description="The step is killed and fails after this.")

    @field_validator("artifacts")
    @classmethod
    def _artifact_names(cls, value: dict[str, str]) -> dict[str, str]:
        for name, pattern in value.items():
            if not ARTIFACT_NAME.match(name):
                raise ValueError(f"artifact name {name!r} must match {ARTIFACT_NAME.pattern}")
            _inside(pattern)
        return value

    @field_validator("inputs")
    @classmethod
    def _inputs_inside(cls, value: list[str]) -> list[str]:
        for pattern in value:
            _inside(pattern)
        return value

    @field_validator("working_dir")
    @classmethod
    def _dir_inside(cls, value: str) -> str:
        return _inside(value)


class RunStep(StepBase):
    """A command, run without a shell; its JUnit XML, when ``junit`` matches files, is parsed into the record."""

    type: Literal["run"]
    command: list[str] | str = Field(description="argv list, or a string split like a shell would (shlex), no shell.")
    junit: str | None = Field(default=None, description="Glob of JUnit XML reports the command writes.")

    @field_validator("junit")
    @classmethod
    def _junit_inside(cls, value: str | None) -> str | None:
        return None if value is None else _inside(value)

    @field_validator("command")
    @classmethod
    def _not_empty(cls, value: list[str] | str) -> list[str] | str:
        if not value or (isinstance(value, str) and not value.strip()):
            raise ValueError("the command is empty")
        return value


class GateStep(StepBase):
    """``finpilot gate run PATH --sarif FILE [...] --json``: the security gates over PATH."""

    type: Literal["gate"]
    path: str = Field(default=".", description="What the gates scan.")
    sarif: str = Field(default="gate.sarif", description="Where the SARIF report goes (an artifact named 'sarif').")
    config: str | None = Field(default=None, description="Gate config file (--config).")
    baseline: str | None = Field(default=None, description="Baseline of accepted findings (--baseline).")
    waivers: str | None = Field(default=None, description="Waivers file (--waivers).")
    junit: str | None = Field(default=None, description="JUnit report of the gates (--junit; artifact 'junit').")
    report: str | None = Field(default=None, description="Human report (--report; artifact 'report').")

    @field_validator("sarif", "junit", "report")
    @classmethod
    def _outputs_inside(cls, value: str | None) -> str | None:
        return None if value is None else _inside(value)


class SbomStep(StepBase):
    """``finpilot sbom PATH --out FILE``: a CycloneDX SBOM of a wheel or a directory."""

    type: Literal["sbom"]
    path: str = Field(description="A wheel, or a directory (container context or project).")
    out: str = Field(default="sbom.cdx.json", description="Where the SBOM goes (an artifact named 'sbom').")

    @field_validator("out")
    @classmethod
    def _out_inside(cls, value: str) -> str:
        return _inside(value)


class SignStep(StepBase):
    """``finpilot sign ARTIFACT --out FILE [--key FILE]``: a DSSE envelope over the artifact's digest."""

    type: Literal["sign"]
    artifact: str = Field(description="The file to sign; may be ${steps.<step>.artifacts.<name>}.")
    out: str = Field(default="artifact.sig.json", description="Where the envelope goes (an artifact 'signature').")

    @field_validator("out")
    @classmethod
    def _out_inside(cls, value: str) -> str:
        return _inside(value)

    key: str | None = Field(default=None, description="Signing key (default: the data dir's release key).")


class ProvenanceStep(StepBase):
    """``finpilot provenance ARTIFACT --out FILE [--key FILE]``: signed SLSA provenance of the artifact."""

    type: Literal["provenance"]
    artifact: str = Field(description="The file the provenance is about; may be ${steps.<step>.artifacts.<name>}.")
    out: str = Field(default="provenance.intoto.json", description="Where it goes (an artifact 'provenance').")

    @field_validator("out")
    @classmethod
    def _out_inside(cls, value: str) -> str:
        return _inside(value)

    key: str | None = Field(default=None, description="Signing key (default: the data dir's release key).")


class DeployStep(StepBase):
    """``finpilot rollout start SERVICE --release ID [args...]``: start a (canary) rollout of the release."""

    type: Literal["deploy"]
    service: str = Field(description="The service to roll out.")
    artifact: str | None = Field(
        default=None, description="The release's artifact, checked before anything deploys (--artifact)."
    )
    signature: str | None = Field(default=None, description="Its signature envelope (--signature).")
    provenance: str | None = Field(default=None, description="Its provenance envelope (--provenance).")
    public_key: str | None = Field(
        default=None, description="The trusted key (--public-key; default: the data dir's release key)."
    )
    require_signature: bool = Field(
        default=False, description="Refuse the deploy unless the artifact's signature verifies (--require-signature)."
    )
    args: list[str] = Field(default_factory=list, description="Further options for `finpilot rollout start`.")


Step = Annotated[RunStep | GateStep | SbomStep | SignStep | ProvenanceStep | DeployStep, Field(discriminator="type")]
"""One step of any built-in type."""

STEP_TYPES: dict[str, type[StepBase]] = {
    "run": RunStep,
    "gate": GateStep,
    "sbom": SbomStep,
    "sign": SignStep,
    "provenance": ProvenanceStep,
    "deploy": DeployStep,
}
"""Every built-in step type by name."""


class PipelineSpec(StrictModel):
    """A pipeline: a name and its steps (in file order), which ``needs:`` makes a DAG."""

    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$", description="The pipeline's name.")
    max_parallel: int = Field(default=2, ge=1, le=32, description="At most this many steps run at once.")
    steps: dict[str, Step] = Field(min_length=1, description="The steps by name.")

    @field_validator("steps")
    @classmethod
    def _step_names(cls, value: dict[str, StepBase]) -> dict[str, StepBase]:
        for name in value:
            if not STEP_NAME.match(name):
                raise ValueError(f"step name {name!r} must match {STEP_NAME.pattern}")
        return value


class PipelineFile(StrictModel):
    """A pipeline file's top level: one ``pipeline:`` section."""

    pipeline: PipelineSpec
