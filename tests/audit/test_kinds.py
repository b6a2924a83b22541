"""The entry-kind registry: declared kinds, reserved kinds, custom.*, evidence checks, conformance counts."""

from __future__ import annotations

import ast
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from finpilot.audit import CUSTOM_PREFIX, KINDS, Entry, EntryKind, kinds_markdown, open_ledger
from finpilot.audit._kind import Evidence, KindRegistry
from finpilot.audit.kinds import OPS_MANUAL_CHANGE
from finpilot.core import InputError, Settings

REPO = Path(__file__).resolve().parents[2]
KIND_HOME = REPO / "finpilot" / "audit" / "kinds"


def settings(tmp_path: Path) -> Settings:
    return Settings.model_validate({"data_dir": str(tmp_path / "data")})


def manual(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "kind": "ops.manual_change",
        "actor": "user:ana",
        "action": "finish",
        "subject": "service:payments",
        "outcome": "ok",
        "evidence": {"ticket": "CHG-1042", "reason": "rotated the HSM partition password"},
    }
    body.update(overrides)
    return body


def test_every_declared_kind_is_complete() -> None:
    assert len(KINDS) >= 2
    for kind in KINDS:
        assert kind.name.count(".") >= 1, kind.name
        assert kind.version >= 1
        assert kind.meaning.strip() == kind.meaning != "", kind.name
        assert all((kind.actions, kind.outcomes, kind.actors, kind.subjects)), kind.name
        assert issubclass(kind.evidence, Evidence), kind.name
        schema = kind.json_schema()
        assert schema["properties"]["kind"] == {"const": kind.name}
        # heal.event records whatever an agent sends that the controller does not know: open on purpose.
        closed = schema["properties"]["evidence"].get("additionalProperties") is False
        assert closed == (kind.name != "heal.event"), kind.name
        json.dumps(kind.describe())  # the CLI prints this: it must be JSON


def test_a_kind_is_declared_once_and_never_under_custom() -> None:
    registry = KindRegistry()
    kind = EntryKind(
        name="demo.thing", version=1, meaning="m", evidence=Evidence,
        actors=("*",), actions=("do",), subjects=("*",), outcomes=("ok",),
    )  # fmt: skip
    registry.declare(kind)
    with pytest.raises(ValueError, match="declared twice"):
        registry.declare(kind)
    with pytest.raises(ValueError, match="users' namespace"):
        registry.declare(EntryKind(**{**_fields(kind), "name": "custom.mine"}))


def _fields(kind: EntryKind[Any]) -> dict[str, Any]:
    return {name: getattr(kind, name) for name in kind.__slots__}


def test_undeclared_kind_is_refused_naming_the_field(tmp_path: Path) -> None:
    with open_ledger(settings(tmp_path)) as ledger:
        with pytest.raises(InputError) as err:
            ledger.append(Entry.from_json(manual(kind="deploy")))
        assert err.value.field == "kind"
        assert "custom.deploy" in (err.value.fix or "")
        assert ledger.size == 0


@given(name=st.from_regex(r"[a-z][a-z0-9_]{0,10}(\.[a-z][a-z0-9_]{0,10}){0,2}", fullmatch=True))
def test_any_custom_kind_is_checked_for_structure_only(name: str) -> None:
    entry = Entry.from_json(manual(kind=CUSTOM_PREFIX + name, evidence={"anything": [1, {"x": None}]}))
    KINDS.check(entry)  # does not raise


def test_reserved_kinds_cannot_arrive_as_json() -> None:
    reserved = [kind for kind in KINDS if kind.reserved]
    assert reserved
    for kind in reserved:
        entry = Entry.from_json(manual(kind=kind.name))
        with pytest.raises(InputError, match="reserved") as err:
            KINDS.check(entry)
        assert err.value.field == "kind"


def test_a_user_kind_is_validated_against_its_evidence_model(tmp_path: Path) -> None:
    with open_ledger(settings(tmp_path)) as ledger:
        index = ledger.append(Entry.from_json(manual()))
        assert ledger.entry(index).fields["evidence"]["ticket"] == "CHG-1042"
        bad = [
            (manual(evidence={"reason": "no ticket"}), "evidence.ticket"),
            (manual(evidence={"ticket": "CHG-1", "reason": "x", "colour": "red"}), "evidence.colour"),
            (manual(evidence={"ticket": "", "reason": "x"}), "evidence.ticket"),
            (manual(outcome="great"), "outcome"),
            (manual(action="delete"), "action"),
        ]
        for body, field in bad:
            with pytest.raises(InputError) as err:
                ledger.append(Entry.from_json(body))
            assert err.value.field == field, body
        assert ledger.size == 1


def test_kind_entry_checks_vocabulary_and_evidence_in_process() -> None:
    entry = OPS_MANUAL_CHANGE.entry(
        actor="user:ana", action="start", subject="db:primary", outcome="ok",
        evidence={"ticket": "INC-7", "reason": "failover by hand"},
    )  # fmt: skip
    assert entry.system
    assert entry.kind == "ops.manual_change"
    with pytest.raises(InputError) as err:
        OPS_MANUAL_CHANGE.entry(actor="u", action="start", subject="s", outcome="ok", evidence={"ticket": "T"})
    assert err.value.field == "evidence.reason"


def test_a_system_entry_is_not_part_of_the_leaf(tmp_path: Path) -> None:
    body = manual()
    typed = OPS_MANUAL_CHANGE.entry(**{k: v for k, v in body.items() if k != "kind"})
    with open_ledger(settings(tmp_path)) as ledger:
        a = ledger.append(Entry.from_json(body))
        b = ledger.append(typed)
        fields_a, fields_b = ledger.entry(a).fields, ledger.entry(b).fields
    fields_a.pop("time")
    fields_b.pop("time")
    assert fields_a == fields_b


def test_verify_export_counts_conforming_entries_per_kind(tmp_path: Path) -> None:
    from finpilot.audit import verify_bundle

    with open_ledger(settings(tmp_path)) as ledger:
        ledger.append(Entry.from_json(manual()))
        ledger.append(Entry.from_json(manual(evidence={"ticket": "CHG-2", "reason": "y"})))
        ledger.append(Entry.from_json(manual(kind="custom.deploy", evidence={"v": 1})))
        ledger.export(tmp_path / "bundle")
    # An entry written before a declaration tightened: edit nothing in the bundle, tighten the model.
    report = verify_bundle(tmp_path / "bundle")
    assert report.ok
    out = report.to_json()["kinds"]
    assert out == {
        "custom.deploy": {"entries": 1, "conform": 0, "declared": False},
        "ops.manual_change": {"entries": 2, "conform": 2, "declared": True},
    }


def _string_constants(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(), filename=str(path))
    docstrings = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
        and node.body
        and isinstance(node.body[0], ast.Expr)
        and isinstance(node.body[0].value, ast.Constant)
    }
    return [
        (node.lineno, node.value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings
    ]


def test_no_bare_kind_strings_outside_the_registry() -> None:
    names = {kind.name for kind in KINDS}
    found = []
    for root in (REPO / "finpilot", REPO / "examples"):
        for path in root.rglob("*.py"):
            if KIND_HOME in path.parents:
                continue
            for line, value in _string_constants(path):
                if value in names:
                    found.append(f"{path.relative_to(REPO)}:{line}: {value!r}")
    assert not found, "use the kind's constant (finpilot.audit.kinds) instead of its name:\n" + "\n".join(found)


def test_no_entry_is_built_by_hand_outside_the_audit_package() -> None:
    found = []
    for root in (REPO / "finpilot", REPO / "examples"):
        for path in root.rglob("*.py"):
            if (REPO / "finpilot" / "audit") in path.parents:
                continue
            tree = ast.parse(path.read_text(), filename=str(path))
            for node in ast.walk(tree):
                if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "Entry":
                    found.append(f"{path.relative_to(REPO)}:{node.lineno}")
    assert not found, "build entries through their kind (KIND.entry(...)):\n" + "\n".join(found)


def test_the_kinds_reference_document_is_current() -> None:
    doc = REPO / "docs" / "audit-kinds.md"
    assert doc.read_text() == kinds_markdown(KINDS), "regenerate: finpilot audit kinds --markdown > docs/audit-kinds.md"


_word = st.text(alphabet="abc:/* .", max_size=6)


@given(value=st.text(alphabet="abc:/ .", max_size=8), patterns=st.lists(_word, min_size=1, max_size=4).map(tuple))
def test_vocabulary_matching_follows_its_definition(value: str, patterns: tuple[str, ...]) -> None:
    from finpilot.audit._kind import _matches

    # The definition: '*' is anything, a trailing '*' a prefix, anything else an exact word.
    expected = any(p == "*" or p == value or (p.endswith("*") and value.startswith(p[:-1])) for p in patterns)
    assert _matches(value, patterns) == expected
