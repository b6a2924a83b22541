"""Runbook files: the YAML schema, strict validation with file, line and field path, and trigger matching.

A runbook says *when* (an audit entry's kind, optional action, outcome and subject, and
conditions on its evidence), *what* (actions in order), *how often at most* (a rate limit)
and *who to tell* when it fails or is stopped (escalation)::

    name: restart-slow-replica
    trigger:
      kind: heal.restart
      action: restart
      when:
        - {field: restarts, op: gt, value: 3}
    actions:
      - restart: "{slot}"
      - page: {message: "{slot} restarted by a runbook", severity: warning}
    rate_limit: {max_actions: 3, window_s: 60, cooldown_s: 300}

Templates (``{slot}``, ``{service}``, ``{node}``, ``{subject}``, ``{kind}``, ``{action}``,
``{outcome}``, ``{evidence.KEY}``) are filled from the triggering entry; unknown names are
rejected when the file is loaded, not when the runbook first fires.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal, get_args

from pydantic import BaseModel, Field, ValidationError, field_validator, model_validator

from finpilot.audit import CUSTOM_PREFIX, KINDS, Entry
from finpilot.core import ConfigError, FieldProblem, StrictModel, line_for, read_yaml

Op = Literal["eq", "ne", "gt", "lt", "in", "regex"]
"""How a condition compares an evidence field with its value."""

ACTION_NAMES = ("restart", "scale", "rollback", "failover", "freeze", "page", "run")
"""Every action a runbook may name, in the order the schema lists them."""

TEMPLATE = re.compile(r"\{([A-Za-z_][A-Za-z0-9_.]*)\}")
_VARIABLES = frozenset({"slot", "service", "node", "subject", "kind", "action", "outcome", "target"})


def _check_template(text: str) -> str:
    for name in TEMPLATE.findall(text):
        if name not in _VARIABLES and not (name.startswith("evidence.") and len(name) > len("evidence.")):
            raise FieldProblem(
                f"unknown template variable '{{{name}}}'",
                fix=f"use one of {', '.join('{' + v + '}' for v in sorted(_VARIABLES))} or {{evidence.KEY}}",
            )
    return text


class Condition(StrictModel):
    """One test on the triggering entry's evidence; a missing field never matches."""

    field: str = Field(
        pattern=r"^[A-Za-z_][A-Za-z0-9_-]*(\.[A-Za-z0-9_-]+)*$",
        description="Dotted path into the entry's evidence, e.g. 'restarts' or 'probe.failures'.",
    )
    op: Op = Field(description="eq, ne, gt, lt (numbers), in (a list of values) or regex (searched in the text).")
    value: Any = Field(description="What the field is compared with.")

    @model_validator(mode="after")
    def _value_fits(self) -> Condition:
        if self.op in ("gt", "lt") and not _is_number(self.value):
            raise FieldProblem(
                f"'{self.op}' compares numbers, but value is {self.value!r}",
                path=("value",),
                fix="give a number, e.g. value: 3",
            )
        if self.op == "in" and not isinstance(self.value, list):
            raise FieldProblem("'in' needs a list of values", path=("value",), fix="e.g. value: [a, b]")
        if self.op == "regex":
            if not isinstance(self.value, str):
                raise FieldProblem("'regex' needs a pattern string", path=("value",), fix="quote the pattern")
            try:
                re.compile(self.value)
            except re.error as exc:
                raise FieldProblem(
                    f"invalid regular expression: {exc}", path=("value",), fix="check the pattern's syntax"
                ) from None
        return self

    def holds(self, evidence: Mapping[str, Any]) -> bool:
        """Whether this condition is true of ``evidence``."""
        found, actual = _lookup(evidence, self.field)
        if not found:
            return False
        if self.op == "eq":
            return _same(actual, self.value)
        if self.op == "ne":
            return not _same(actual, self.value)
        if self.op in ("gt", "lt"):
            if not _is_number(actual) or math.isnan(actual):
                return False
            return bool(actual > self.value) if self.op == "gt" else bool(actual < self.value)
        if self.op == "in":
            return any(_same(actual, option) for option in self.value)
        # regex: searched in the text of a scalar; containers never match.
        if isinstance(actual, (dict, list)) or actual is None:
            return False
        text = actual if isinstance(actual, str) else str(actual).lower() if isinstance(actual, bool) else str(actual)
        return re.search(self.value, text) is not None


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _same(a: Any, b: Any) -> bool:
    # YAML's `true` must not equal evidence's 1, nor "1" equal 1: compare numbers as numbers only.
    if _is_number(a) and _is_number(b):
        return bool(a == b)
    return type(a) is type(b) and bool(a == b)


def _lookup(evidence: Mapping[str, Any], path: str) -> tuple[bool, Any]:
    current: Any = evidence
    for part in path.split("."):
        if not isinstance(current, Mapping) or part not in current:
            return False, None
        current = current[part]
    return True, current


class Trigger(StrictModel):
    """Which audit entries start the runbook."""

    kind: str = Field(
        pattern=r"^[a-z][a-z0-9_-]*(\.[a-z0-9_-]+)+$", description="Entry kind, e.g. heal.restart or heal.node."
    )
    action: str | None = Field(default=None, description="Only entries with this action (e.g. restart).")
    outcome: str | None = Field(default=None, description="Only entries with this outcome (e.g. NotReady).")
    subject: str | None = Field(
        default=None, description="Regular expression searched in the entry's subject, e.g. '^replica:payments/'."
    )
    when: list[Condition] = Field(default_factory=list, description="Conditions on the evidence; all must hold.")

    @field_validator("kind")
    @classmethod
    def _not_own(cls, kind: str) -> str:
        if kind.startswith("runbook."):
            raise ValueError("runbook.* entries never trigger runbooks (that would be a feedback loop)")
        if kind not in KINDS and not kind.startswith(CUSTOM_PREFIX):
            # A misspelt kind would make a runbook that silently never runs.
            raise FieldProblem(
                f"no entry kind is called '{kind}'",
                fix=f"use a declared kind (see `finpilot audit kinds`) or your own under '{CUSTOM_PREFIX}'",
            )
        return kind

    @field_validator("subject")
    @classmethod
    def _regex(cls, pattern: str | None) -> str | None:
        if pattern is not None:
            try:
                re.compile(pattern)
            except re.error as exc:
                raise ValueError(f"invalid regular expression: {exc}") from None
        return pattern

    def matches(self, entry: Entry) -> bool:
        """Whether ``entry`` starts the runbook."""
        if entry.kind != self.kind:
            return False
        if self.action is not None and entry.action != self.action:
            return False
        if self.outcome is not None and entry.outcome != self.outcome:
            return False
        if self.subject is not None and re.search(self.subject, entry.subject) is None:
            return False
        return all(c.holds(entry.evidence) for c in self.when)


class ScaleAction(StrictModel):
    """``scale``: set a service's replica count (applied as a spec change, validated like one)."""

    service: str = Field(min_length=1, description="Service name (template allowed).")
    replicas: int = Field(ge=0, le=1000, description="New replica count.")

    @field_validator("service")
    @classmethod
    def _template(cls, value: str) -> str:
        return _check_template(value)


class FreezeAction(StrictModel):
    """``freeze``: freeze an account (done by the handler the CLI registers; the fraud capability owns it)."""

    account: str = Field(min_length=1, description="Account id (template allowed), e.g. '{evidence.account}'.")
    reason: str = Field(default="runbook", max_length=200, description="Why, recorded with the freeze.")

    @field_validator("account")
    @classmethod
    def _template(cls, value: str) -> str:
        return _check_template(value)


class PageAction(StrictModel):
    """``page``: tell a person (a runbook.page entry, and the webhook when one is configured)."""

    message: str = Field(min_length=1, max_length=500, description="What to say (template allowed).")
    severity: Literal["info", "warning", "critical"] = Field(default="warning", description="How urgent.")

    @field_validator("message")
    @classmethod
    def _template(cls, value: str) -> str:
        return _check_template(value)


class RunAction(StrictModel):
    """``run``: run a command (argv, no shell) with a timeout; a non-zero exit fails the action."""

    argv: list[str] = Field(min_length=1, description="Program and arguments (templates allowed); no shell.")
    timeout_s: float = Field(default=60, gt=0, le=3600, description="Seconds before the command is killed.")

    @field_validator("argv")
    @classmethod
    def _templates(cls, argv: list[str]) -> list[str]:
        if not argv[0].strip():
            raise ValueError("the program name is empty")
        for item in argv:
            _check_template(item)
        return argv


class ActionSpec(StrictModel):
    """One step; exactly one of its keys is set."""

    restart: str | None = Field(default=None, description="Replica to restart: SERVICE[/N] or '{slot}'.")
    scale: ScaleAction | None = Field(default=None, description="Set a service's replicas.")
    rollback: str | None = Field(
        default=None, description="Service whose last spec change to undo (refused if that change did not touch it)."
    )
    failover: str | None = Field(
        default=None, description="'primary' (whichever it is now) or a node of the database pair to fail over."
    )
    freeze: FreezeAction | None = Field(default=None, description="Account to freeze (needs a handler).")
    page: PageAction | None = Field(default=None, description="Page a person.")
    run: RunAction | None = Field(default=None, description="Run a command.")

    @field_validator("restart", "rollback", "failover")
    @classmethod
    def _target(cls, value: str | None) -> str | None:
        if value is not None:
            if not value.strip():
                raise ValueError("the target is empty")
            _check_template(value)
        return value

    @model_validator(mode="after")
    def _exactly_one(self) -> ActionSpec:
        chosen = [name for name in ACTION_NAMES if getattr(self, name) is not None]
        if len(chosen) != 1:
            raise FieldProblem(
                "an action needs exactly one of "
                + ", ".join(ACTION_NAMES)
                + (f", not {' and '.join(chosen)}" if chosen else ""),
                fix="write one action per list item, e.g. '- restart: \"{slot}\"'",
            )
        return self

    @property
    def name(self) -> str:
        """Which action this is (restart, scale, ...)."""
        return next(name for name in ACTION_NAMES if getattr(self, name) is not None)

    def params(self) -> dict[str, Any]:
        """The action's own settings as plain JSON (a target string becomes ``{"target": ...}``)."""
        value = getattr(self, self.name)
        return value.model_dump(mode="json") if isinstance(value, BaseModel) else {"target": value}


class RateLimit(StrictModel):
    """At most ``max_actions`` actions in any ``window_s`` seconds (and ``max_per_target`` on one target)."""

    max_actions: int = Field(default=5, ge=1, le=10_000, description="Actions this runbook may take per window.")
    window_s: float = Field(default=300, gt=0, le=7 * 86400, description="The sliding window, in seconds.")
    max_per_target: int | None = Field(
        default=None, ge=1, le=10_000, description="Actions on one target per window. Empty means max_actions."
    )
    cooldown_s: float = Field(
        default=600, ge=0, le=7 * 86400, description="Once the limit trips, no action at all for this long."
    )


class Escalation(StrictModel):
    """Who hears of a runbook that failed or was stopped by its rate limit."""

    message: str = Field(
        default="runbook {runbook} needs a person: {reason}",
        max_length=500,
        description="Page text; {runbook} and {reason} are filled in, with the trigger's templates.",
    )
    severity: Literal["info", "warning", "critical"] = Field(default="critical", description="How urgent.")
    on_failure: bool = Field(default=True, description="Escalate when an action fails.")
    on_rate_limit: bool = Field(default=True, description="Escalate when the rate limit trips.")

    @field_validator("message")
    @classmethod
    def _templates(cls, message: str) -> str:
        return _check_template(message.replace("{runbook}", "").replace("{reason}", ""))


class Runbook(StrictModel):
    """One runbook file."""

    name: str = Field(pattern=r"^[a-z][a-z0-9-]{0,62}$", description="Unique name (a DNS label).")
    description: str = Field(default="", max_length=1000, description="What it is for, in words.")
    trigger: Trigger = Field(description="Which audit entries start it.")
    actions: list[ActionSpec] = Field(min_length=1, max_length=20, description="Steps, in order.")
    continue_on_failure: bool = Field(default=False, description="Run the later steps after a step fails.")
    rate_limit: RateLimit = Field(default_factory=RateLimit, description="Against remediation storms.")
    escalate: Escalation = Field(default_factory=Escalation, description="On failure or a tripped rate limit.")
    source: str = Field(default="", exclude=True, description="The file it was read from (set by the loader).")


# ---------------------------------------------------------------------- loading


def _model_in(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in get_args(annotation):
        found = _model_in(arg)
        if found is not None:
            return found
    return None


def _allowed_keys(loc: tuple[str | int, ...]) -> list[str]:
    """The keys the model at ``loc`` (a path into a runbook) accepts."""
    model: type[BaseModel] | None = Runbook
    for part in loc:
        if isinstance(part, int) or model is None:
            continue
        info = model.model_fields.get(part)
        model = _model_in(info.annotation) if info is not None else None
    return sorted(name for name in (model.model_fields if model else {}) if name != "source")


def parse_runbook(text: str, *, source: str = "runbook.yaml") -> Runbook:
    """Validate one runbook's YAML; raise :class:`ConfigError` naming the file, line, field path and a fix."""
    data, lines = read_yaml(text, source=source)
    if not isinstance(data, dict):
        raise ConfigError(
            f"{source}:1: a runbook must be a mapping with name, trigger and actions",
            line=1,
            path=source,
            fix="start the file with 'name:', 'trigger:' and 'actions:'",
        )
    if "source" in data:
        raise ConfigError(f"{source}: 'source' is set by the loader", field="source", path=source, fix="remove it")
    try:
        return Runbook.model_validate({**data, "source": source})
    except ValidationError as exc:
        err = exc.errors()[0]
        loc: tuple[str | int, ...] = tuple(err["loc"])
        problem = (err.get("ctx") or {}).get("error")
        message, fix = str(err["msg"]), None
        if isinstance(problem, FieldProblem):
            loc, message, fix = (*loc, *problem.path), problem.problem, problem.fix
        elif err["type"] == "extra_forbidden":
            allowed = _allowed_keys(loc[:-1])
            fix = f"allowed keys here: {', '.join(allowed)}" if allowed else None
        line = line_for(loc, lines)
        field = ".".join(str(part) for part in loc) or "(top level)"
        raise ConfigError(
            f"{source}:{line or '?'}: invalid runbook field '{field}': {message}",
            field=field,
            line=line,
            path=source,
            fix=fix or "see docs/heal.md, section Runbooks, for the allowed keys and values",
        ) from None


def load_runbooks(directory: Path) -> list[Runbook]:
    """Read and validate every ``*.yaml``/``*.yml`` in ``directory`` (sorted); all or nothing."""
    if not directory.is_dir():
        raise ConfigError(
            f"runbook directory {directory} does not exist",
            path=str(directory),
            field="runbooks.dir",
            fix="create it, or point runbooks.dir at the directory holding your runbook files",
        )
    files = sorted(p for p in directory.iterdir() if p.suffix in (".yaml", ".yml") and p.is_file())
    found: list[Runbook] = []
    names: dict[str, str] = {}
    for path in files:
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(f"cannot read runbook {path}: {exc}", path=str(path)) from None
        book = parse_runbook(text, source=str(path))
        if book.name in names:
            raise ConfigError(
                f"{path}: runbook name '{book.name}' is also used by {names[book.name]}",
                field="name",
                path=str(path),
                fix="give each runbook its own name",
            )
        names[book.name] = str(path)
        found.append(book)
    return found
