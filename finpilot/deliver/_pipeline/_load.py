"""Finding and reading a pipeline file; every problem names the file, the line and the field.

Where a pipeline lives: ``--file PATH``; else the ``pipeline:`` section of ``finpilot.yaml`` in
the working directory (finpilot's settings carry that section unread; this module validates
it); else ``.finpilot/pipeline.yaml``. Either file has the pipeline under a top-level
``pipeline:`` key.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from finpilot.core import ConfigError, InputError, line_for, read_yaml
from finpilot.deliver._pipeline._dag import ancestors, check_needs
from finpilot.deliver._pipeline._spec import STEP_TYPES, PipelineSpec, StepBase

SEARCH = (Path("finpilot.yaml"), Path(".finpilot/pipeline.yaml"))
"""Where a pipeline is looked for, in order, when no file is named."""

REFERENCE = re.compile(r"\$\{steps\.([A-Za-z0-9_-]+)\.artifacts\.([A-Za-z0-9_-]+)\}")
"""``${steps.<step>.artifacts.<name>}``: the path of an earlier step's artifact in this run."""

_MAX_BYTES = 1 << 20


@dataclass(frozen=True, slots=True)
class Pipeline:
    """A validated pipeline: its spec, the file it came from, that file's directory and its digest."""

    spec: PipelineSpec
    path: Path
    root: Path
    digest: str
    """``sha256:<hex>`` of the pipeline section, canonically encoded (the file may hold settings too)."""

    @property
    def needs(self) -> dict[str, list[str]]:
        """Each step's direct needs."""
        return {name: list(step.needs) for name, step in self.spec.steps.items()}


def find_pipeline_file(cwd: Path) -> Path:
    """The pipeline file for ``cwd`` (see the module docstring); :class:`InputError` when there is none."""
    for candidate in SEARCH:
        path = cwd / candidate
        if path.is_file() and (candidate.name != "finpilot.yaml" or _has_pipeline(path)):
            return path
    raise InputError(
        f"no pipeline in {cwd}: neither finpilot.yaml has a 'pipeline:' section nor .finpilot/pipeline.yaml exists",
        field="--file",
        fix="write a 'pipeline:' section (see docs/deliver-pipelines.md) or pass --file PATH",
    )


def _has_pipeline(path: Path) -> bool:
    try:
        return any(line.startswith("pipeline:") for line in path.read_text(encoding="utf-8").splitlines())
    except (OSError, UnicodeDecodeError):
        return True  # let load_pipeline say what is wrong with it


def load_pipeline(path: Path) -> Pipeline:
    """Read and validate the pipeline in ``path``; :class:`ConfigError` (an ``InputError``) names what is wrong."""
    source = str(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise InputError(f"pipeline file {path} does not exist", field="--file", fix="pass an existing file") from None
    except OSError as exc:
        raise InputError(f"cannot read pipeline file {path}: {exc.strerror}", field="--file") from None
    if len(raw) > _MAX_BYTES:
        raise InputError(f"pipeline file {path} is larger than 1 MiB", field="--file", fix="split it")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise InputError(f"pipeline file {path} is not UTF-8", field="--file", fix="save it as UTF-8") from None
    _syntax(text, source)
    data, lines = read_yaml(text, source=source)
    section = _section(data, lines, path)
    _check_types(section, lines, source)
    try:
        spec = PipelineSpec.model_validate(section)
    except ValidationError as exc:
        raise _config_error(exc, lines, source) from None
    pipeline = Pipeline(spec=spec, path=path, root=path.parent, digest=_digest(section))
    check_needs(
        pipeline.needs, source=source, line_of=lambda step: line_for(("pipeline", "steps", step, "needs"), lines)
    )
    _check_references(pipeline, lines, source)
    return pipeline


def _syntax(text: str, source: str) -> None:
    # read_yaml names the line; a person fixing a flow mapping also wants the column.
    try:
        yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{mark.line + 1}:{mark.column + 1}" if mark is not None else "?"
        raise ConfigError(
            f"{source}:{where}: not valid YAML ({getattr(exc, 'problem', None) or exc})",
            line=mark.line + 1 if mark is not None else None,
            path=source,
            fix="check indentation, quoting and brackets at that line and column",
        ) from None


def _section(data: Any, lines: dict[tuple[str | int, ...], int], path: Path) -> dict[str, Any]:
    source = str(path)
    if not isinstance(data, dict) or "pipeline" not in data:
        raise ConfigError(
            f"{source}:1: no top-level 'pipeline:' section",
            field="pipeline",
            line=1,
            path=source,
            fix="put the pipeline under a top-level 'pipeline:' key",
        )
    if path.name != "finpilot.yaml":
        # A pipeline file of its own holds nothing else, so a stray top-level key is a typo.
        for key in data:
            if key != "pipeline":
                raise ConfigError(
                    f"{source}:{line_for((key,), lines) or '?'}: unknown top-level key '{key}'",
                    field=str(key),
                    line=line_for((key,), lines),
                    path=source,
                    fix="a pipeline file has only a 'pipeline:' section",
                )
    section = data["pipeline"]
    if not isinstance(section, dict):
        raise ConfigError(
            f"{source}:{line_for(('pipeline',), lines) or '?'}: 'pipeline' must be a mapping (name, steps)",
            field="pipeline",
            line=line_for(("pipeline",), lines),
            path=source,
            fix="give the pipeline a 'name:' and 'steps:'",
        )
    return section


def _check_types(section: dict[str, Any], lines: dict[tuple[str | int, ...], int], source: str) -> None:
    # Before pydantic: its discriminator message would not list the known types.
    steps = section.get("steps")
    if not isinstance(steps, dict):
        return
    for name, step in steps.items():
        if not isinstance(step, dict):
            continue
        kind = step.get("type")
        if kind not in STEP_TYPES:
            loc = ("pipeline", "steps", name, "type") if "type" in step else ("pipeline", "steps", name)
            line = line_for(loc, lines)
            said = f"unknown step type '{kind}'" if "type" in step else "no 'type'"
            raise ConfigError(
                f"{source}:{line or '?'}: step '{name}' has {said}; known types: {', '.join(STEP_TYPES)}",
                field=f"pipeline.steps.{name}.type",
                line=line,
                path=source,
                fix=f"set 'type:' to one of: {', '.join(STEP_TYPES)}",
            )


def _config_error(exc: ValidationError, lines: dict[tuple[str | int, ...], int], source: str) -> ConfigError:
    # An unknown field (a typo) explains the "field required" that usually comes with it: say it first.
    errors = sorted(exc.errors(), key=lambda e: e["type"] != "extra_forbidden")
    first = errors[0]
    # The discriminated union puts the tag in the location (steps.build.run.command); drop it.
    loc = tuple(part for i, part in enumerate(first["loc"]) if not (i == 2 and part in STEP_TYPES))
    full = ("pipeline", *loc)
    line = line_for(full, lines)
    field = ".".join(str(p) for p in full)
    message = "unknown field" if first["type"] == "extra_forbidden" else first["msg"]
    return ConfigError(
        f"{source}:{line or '?'}: invalid '{field}': {message}",
        field=field,
        line=line,
        path=source,
        fix="see docs/deliver-pipelines.md for each step type's fields",
    )


def _digest(section: dict[str, Any]) -> str:
    import json

    canonical = json.dumps(section, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return "sha256:" + hashlib.sha256(canonical.encode()).hexdigest()


def step_strings(step: StepBase) -> list[tuple[str, str]]:
    """Every string field of a step that may hold a ``${steps...}`` reference, as (field, value)."""
    found: list[tuple[str, str]] = []
    for field, value in step.model_dump().items():
        if field in ("needs", "inputs", "artifacts"):
            continue
        if isinstance(value, str):
            found.append((field, value))
        elif isinstance(value, list):
            found.extend((f"{field}.{i}", item) for i, item in enumerate(value) if isinstance(item, str))
        elif isinstance(value, dict):
            found.extend((f"{field}.{k}", v) for k, v in value.items() if isinstance(v, str))
    return found


def _check_references(pipeline: Pipeline, lines: dict[tuple[str | int, ...], int], source: str) -> None:
    needs = pipeline.needs
    for name, step in pipeline.spec.steps.items():
        before = ancestors(needs, name)
        for field, value in step_strings(step):
            for ref_step, artifact in REFERENCE.findall(value):
                line = line_for(("pipeline", "steps", name, *field.split(".")[:1]), lines)
                where = f"pipeline.steps.{name}.{field}"
                if ref_step not in before:
                    raise ConfigError(
                        f"{source}:{line or '?'}: step '{name}' refers to step '{ref_step}', which it does not need",
                        field=where,
                        line=line,
                        path=source,
                        fix=f"add '{ref_step}' to the needs of '{name}' (directly or through another step)",
                    )
                declared = _declared_artifacts(pipeline.spec.steps[ref_step])
                if artifact not in declared:
                    raise ConfigError(
                        f"{source}:{line or '?'}: step '{ref_step}' has no artifact '{artifact}'",
                        field=where,
                        line=line,
                        path=source,
                        fix=f"use one of: {', '.join(declared) or '(none declared)'}",
                    )


def _declared_artifacts(step: StepBase) -> list[str]:
    from finpilot.deliver._pipeline._commands import builtin_artifacts

    return [*builtin_artifacts(step), *step.artifacts]
