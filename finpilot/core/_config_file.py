"""Reading ``finpilot.yaml`` with errors that point at the field and the line."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from finpilot.core._errors import ConfigError
from finpilot.core._field_problem import FieldProblem
from finpilot.core._settings import Settings


def _line_index(node: yaml.Node, path: tuple[str | int, ...], out: dict[tuple[str | int, ...], int]) -> None:
    out[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            key = key_node.value
            out[(*path, key)] = key_node.start_mark.line + 1
            _line_index(value_node, (*path, key), out)
            # A key's own line beats its value's, which may start on the next line.
            out[(*path, key)] = key_node.start_mark.line + 1
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _line_index(item, (*path, i), out)


def _line_for(loc: tuple[str | int, ...], lines: dict[tuple[str | int, ...], int]) -> int | None:
    # Missing fields have no line of their own; point at the closest parent that exists.
    for cut in range(len(loc), -1, -1):
        if loc[:cut] in lines:
            return lines[loc[:cut]]
    return None


def _precise(err: Any) -> tuple[tuple[str | int, ...], str, str | None]:
    # A FieldProblem names a field below the model that raised it, and knows the fix.
    loc = tuple(err["loc"])
    problem = (err.get("ctx") or {}).get("error")
    if isinstance(problem, FieldProblem):
        return (*loc, *problem.path), problem.problem, problem.fix
    return loc, str(err["msg"]), None


def read_yaml(text: str, *, source: str) -> tuple[Any, dict[tuple[str | int, ...], int]]:
    """Parse YAML text into data plus the line of every key path in it, for errors that name a line.

    Raises :class:`ConfigError` with the line of a syntax error. Config files, runbooks and any
    other YAML a person writes go through here, so they all report problems the same way.
    """
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data: Any = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        raise ConfigError(
            f"{source}:{line or '?'}: not valid YAML ({getattr(exc, 'problem', exc)})",
            line=line,
            path=source,
            fix="check indentation and quoting on that line",
        ) from None
    lines: dict[tuple[str | int, ...], int] = {}
    if node is not None:
        _line_index(node, (), lines)
    return data, lines


def line_for(loc: tuple[str | int, ...], lines: dict[tuple[str | int, ...], int]) -> int | None:
    """The line of ``loc`` in :func:`read_yaml`'s index, or of its closest parent that has one."""
    return _line_for(loc, lines)


def parse_settings(text: str, *, source: str = "finpilot.yaml") -> Settings:
    """Parse and validate config text; raise :class:`ConfigError` naming the field and line."""
    data, lines = read_yaml(text, source=source)
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(
            f"{source}:1: the top level must be a mapping of settings",
            line=1,
            path=source,
            fix="start the file with keys such as 'data_dir:' or 'audit:'",
        )
    try:
        return Settings.model_validate(data)
    except ValidationError as exc:
        errors = [_precise(err) for err in exc.errors()]
        loc, msg, fix = errors[0]
        field = ".".join(str(part) for part in loc) or "(top level)"
        line = _line_for(loc, lines)
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e_loc)} (line {_line_for(e_loc, lines) or '?'}): {e_msg}"
            for e_loc, e_msg, _ in errors
        )
        raise ConfigError(
            f"{source}:{line or '?'}: invalid setting '{field}': {msg}"
            + (f" [all problems: {problems}]" if len(errors) > 1 else ""),
            field=field,
            line=line,
            path=source,
            fix=fix or "see `finpilot config schema` for the allowed keys and values",
        ) from None


def load_settings(path: Path) -> Settings:
    """Read and validate a config file."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(
            f"config file {path} does not exist", path=str(path), fix="pass an existing file with --config"
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read config file {path}: {exc}", path=str(path)) from None
    settings = parse_settings(text, source=str(path))
    if not settings.data_dir.is_absolute():
        # Relative data dirs are relative to the config file, not to wherever the CLI runs.
        settings = settings.model_copy(update={"data_dir": path.parent / settings.data_dir})
    return settings
