"""Runbook files: strict validation with file, line, field path and fix; trigger matching; templates."""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from finpilot.audit import Entry
from finpilot.core import ConfigError, InputError
from finpilot.heal import load_runbooks
from finpilot.heal._runbook._actions import render, variables_for
from finpilot.heal._runbook._spec import Condition, parse_runbook

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "heal" / "runbooks"

GOOD = {
    "name": "restart-it",
    "trigger": {"kind": "heal.restart", "action": "restart", "when": [{"field": "restarts", "op": "gt", "value": 2}]},
    "actions": [{"restart": "{slot}"}, {"page": {"message": "{slot} on {node}"}}],
    "rate_limit": {"max_actions": 3, "window_s": 60},
}


def _with(path: tuple[str | int, ...], value: Any) -> dict[str, Any]:
    doc: Any = yaml.safe_load(yaml.safe_dump(GOOD))
    target = doc
    for part in path[:-1]:
        target = target[part]
    target[path[-1]] = value
    return dict(doc)


def _reject(doc: Any) -> ConfigError:
    with pytest.raises(ConfigError) as caught:
        parse_runbook(yaml.safe_dump(doc, sort_keys=False), source="books/x.yaml")
    return caught.value


def test_a_good_runbook_parses_with_defaults() -> None:
    book = parse_runbook(yaml.safe_dump(GOOD), source="x.yaml")
    assert [a.name for a in book.actions] == ["restart", "page"]
    assert book.actions[0].params() == {"target": "{slot}"}
    assert book.rate_limit.max_actions == 3
    assert book.rate_limit.cooldown_s == 600
    assert book.escalate.on_failure
    assert book.escalate.on_rate_limit
    assert book.source == "x.yaml"


@pytest.mark.parametrize(
    ("doc", "field", "words"),
    [
        (_with(("trigger", "when", 0, "value"), "many"), "trigger.when.0.value", "compares numbers"),
        (_with(("trigger", "when", 0, "op"), "gte"), "trigger.when.0.op", "'eq'"),
        (_with(("trigger", "when", 0), {"field": "x", "op": "in", "value": 3}), "trigger.when.0.value", "list"),
        (_with(("trigger", "when", 0), {"field": "x", "op": "regex", "value": "("}), "trigger.when.0.value", "regular"),
        (_with(("trigger", "kind"), "runbook.action"), "trigger.kind", "feedback loop"),
        (_with(("trigger", "kind"), "Heal restart"), "trigger.kind", "pattern"),
        (_with(("actions",), []), "actions", "at least 1"),
        (_with(("actions", 1), {"page": {"message": "x"}, "restart": "a"}), "actions.1", "exactly one"),
        (_with(("actions", 1), {"reboot": "a"}), "actions.1.reboot", "not permitted"),
        (_with(("actions", 0, "restart"), "{slott}"), "actions.0.restart", "unknown template variable '{slott}'"),
        (
            _with(("actions", 0), {"scale": {"service": "payments", "replicas": -1}}),
            "actions.0.scale.replicas",
            "greater than or equal to 0",
        ),
        (_with(("actions", 0), {"run": {"argv": []}}), "actions.0.run.argv", "at least 1"),
        (_with(("actions", 0), {"run": {"argv": ["x"], "timeout_s": 0}}), "actions.0.run.timeout_s", "greater than 0"),
        (_with(("rate_limit", "max_actions"), 0), "rate_limit.max_actions", "greater than or equal to 1"),
        (_with(("rate_limit", "windw_s"), 5), "rate_limit.windw_s", "not permitted"),
        (_with(("name",), "Restart It"), "name", "pattern"),
    ],
)
def test_bad_runbooks_name_file_line_field_and_fix(doc: dict[str, Any], field: str, words: str) -> None:
    err = _reject(doc)
    assert err.field == field
    assert err.path == "books/x.yaml"
    assert err.message.startswith(f"books/x.yaml:{err.line}: invalid runbook field '{field}'")
    assert err.line is not None
    assert err.line >= 1
    assert words in err.message
    assert err.fix


def test_the_line_points_at_the_bad_field() -> None:
    text = (
        "name: a\ntrigger:\n  kind: heal.node\nactions:\n"
        "  - page: {message: hi}\n  - scale: {service: x, replicas: many}\n"
    )
    err = _reject_text(text)
    assert err.line == 6
    assert err.field == "actions.1.scale.replicas"


def _reject_text(text: str) -> ConfigError:
    with pytest.raises(ConfigError) as caught:
        parse_runbook(text, source="t.yaml")
    return caught.value


def test_yaml_errors_and_wrong_shapes_are_config_errors() -> None:
    assert "not valid YAML" in _reject_text("name: [a\n").message
    assert "must be a mapping" in _reject_text("- a\n- b\n").message


def test_load_is_all_or_nothing_and_names_duplicates(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text(yaml.safe_dump(GOOD))
    (tmp_path / "notes.txt").write_text("ignored")
    assert [b.name for b in load_runbooks(tmp_path)] == ["restart-it"]
    (tmp_path / "b.yml").write_text(yaml.safe_dump(GOOD))
    with pytest.raises(ConfigError, match="also used by") as caught:
        load_runbooks(tmp_path)
    assert caught.value.path == str(tmp_path / "b.yml")
    with pytest.raises(ConfigError, match="does not exist"):
        load_runbooks(tmp_path / "missing")


def test_shipped_examples_are_valid() -> None:
    names = {b.name for b in load_runbooks(EXAMPLES)}
    assert {"disk-pressure", "crash-loop", "node-lost"} <= names


# ---------------------------------------------------------------------- matching

_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-5, 5),
    st.floats(-5, 5, allow_nan=False),
    st.sampled_from(["a", "b", "ab", "1"]),
)


def _reference(op: str, present: bool, actual: Any, value: Any) -> bool:
    """What a condition means, written independently of the implementation."""
    if not present:
        return False

    def same(a: Any, b: Any) -> bool:
        num = (int, float)
        a_num = isinstance(a, num) and not isinstance(a, bool)
        b_num = isinstance(b, num) and not isinstance(b, bool)
        if a_num and b_num:
            return bool(a == b)
        return type(a) is type(b) and a == b

    if op == "eq":
        return same(actual, value)
    if op == "ne":
        return not same(actual, value)
    if op in ("gt", "lt"):
        if isinstance(actual, bool) or not isinstance(actual, (int, float)) or math.isnan(actual):
            return False
        return actual > value if op == "gt" else actual < value
    if op == "in":
        return any(same(actual, v) for v in value)
    if actual is None:
        return False
    text = actual if isinstance(actual, str) else str(actual).lower() if isinstance(actual, bool) else str(actual)
    return re.search(value, text) is not None


@settings(max_examples=300, deadline=None)
@given(
    op=st.sampled_from(["eq", "ne", "gt", "lt", "in", "regex"]),
    actual=_scalars,
    present=st.booleans(),
    number=st.one_of(st.integers(-5, 5), st.floats(-5, 5, allow_nan=False)),
    options=st.lists(_scalars, max_size=4),
    pattern=st.sampled_from(["^a", "b$", "1", "true", "^-", "."]),
    nested=st.booleans(),
)
def test_conditions_match_their_reference_meaning(
    op: str, actual: Any, present: bool, number: float, options: list[Any], pattern: str, nested: bool
) -> None:
    value = {"gt": number, "lt": number, "in": options, "regex": pattern}.get(op, actual if present else number)
    if op in ("eq", "ne"):
        value = options[0] if options else actual
    field = "probe.x" if nested else "x"
    leaf = {"x": actual} if present else {"y": 1}
    evidence = {"probe": leaf} if nested else leaf
    cond = Condition.model_validate({"field": field, "op": op, "value": value})
    assert cond.holds(evidence) == _reference(op, present, actual, value)


def test_trigger_matches_kind_action_outcome_subject_and_all_conditions() -> None:
    book = parse_runbook(
        yaml.safe_dump(
            {
                **GOOD,
                "trigger": {
                    "kind": "heal.node",
                    "outcome": "NotReady",
                    "subject": "^node:n[12]$",
                    "when": [{"field": "misses", "op": "in", "value": [3, 4]}],
                },
            }
        )
    )

    def entry(**kw: Any) -> Entry:
        base: dict[str, Any] = {
            "kind": "heal.node",
            "actor": "healer:local",
            "action": "mark-not-ready",
            "subject": "node:n1",
            "outcome": "NotReady",
            "evidence": {"misses": 3},
        }
        return Entry(**{**base, **kw})

    assert book.trigger.matches(entry())
    assert not book.trigger.matches(entry(kind="heal.restart"))
    assert not book.trigger.matches(entry(outcome="Ready"))
    assert not book.trigger.matches(entry(subject="node:p1"))
    assert not book.trigger.matches(entry(evidence={"misses": 5}))
    assert not book.trigger.matches(entry(evidence={}))


def test_templates_take_slot_service_node_and_evidence_from_the_trigger() -> None:
    restart = Entry(
        kind="heal.restart",
        actor="healer:local",
        action="restart",
        subject="replica:payments/1@n2~3",
        outcome="ok",
        evidence={"exit": -9, "restarts": 4},
    )
    found = variables_for(restart)
    assert (found["slot"], found["service"], found["node"]) == ("payments/1", "payments", "n2")
    assert render({"a": ["{slot}", "x{evidence.exit}"]}, found) == {"a": ["payments/1", "x-9"]}
    node = Entry(kind="heal.node", actor="h", action="disk-pressure", subject="node:n1", outcome="DiskPressure")
    assert variables_for(node)["node"] == "n1"
    with pytest.raises(InputError, match=r"\{slot\} has no value"):
        render("{slot}", variables_for(node))


def test_a_misspelt_key_is_answered_with_the_keys_allowed_there() -> None:
    err = _reject(_with(("actions", 0), {"run": {"argv": ["x"], "timeout": 3}}))
    assert err.field == "actions.0.run.timeout"
    assert err.fix == "allowed keys here: argv, timeout_s"
    assert _reject(_with(("rate_limit", "windw_s"), 5)).fix == (
        "allowed keys here: cooldown_s, max_actions, max_per_target, window_s"
    )
