"""The entry-kind registry: declared kinds, reserved kinds, custom.*, evidence checks, conformance counts."""

from __future__ import annotations

import ast
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from finpilot.audit import (
    CUSTOM_PREFIX,
    KINDS,
    SYSTEM_NAMESPACES,
    Entry,
    EntryKind,
    is_system_entry,
    kinds_markdown,
    open_ledger,
)
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
        "custom.deploy": {
            "entries": 1, "conform": 0, "declared": False, "system_namespace": False, "not_by_finpilot": 0,
        },
        "ops.manual_change": {
            "entries": 2, "conform": 2, "declared": True, "system_namespace": False, "not_by_finpilot": 0,
        },
    }  # fmt: skip


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


# --- finding 5 of issue 10: what only finpilot writes -----------------------------------------


@pytest.mark.parametrize("namespace", SYSTEM_NAMESPACES)
def test_a_kind_in_a_system_namespace_must_be_reserved(namespace: str) -> None:
    open_kind = EntryKind(
        name=f"{namespace}.open", version=1, meaning="m", evidence=Evidence,
        actors=("*",), actions=("do",), subjects=("*",), outcomes=("ok",), reserved=False,
    )  # fmt: skip
    with pytest.raises(ValueError, match="system namespace and must be reserved"):
        KindRegistry().declare(open_kind)
    KindRegistry().declare(EntryKind(**{**_fields(open_kind), "reserved": True}))


def test_every_declared_kind_in_a_system_namespace_is_reserved_and_the_rest_are_not() -> None:
    for kind in KINDS:
        in_system = kind.name.partition(".")[0] in SYSTEM_NAMESPACES
        assert kind.reserved == in_system, kind.name
        assert kind.describe()["system_namespace"] == in_system


@pytest.mark.parametrize("kind", ["fraud.account_v2", "deliver.webhook", "watch.probe", "runbook.custom"])
def test_an_undeclared_kind_in_a_system_namespace_is_refused_as_reserved(tmp_path: Path, kind: str) -> None:
    with open_ledger(settings(tmp_path)) as ledger:
        with pytest.raises(InputError, match="reserved for finpilot's own writers") as err:
            ledger.append(Entry.from_json(manual(kind=kind)))
        assert err.value.field == "kind"
        assert kind not in str(err.value)  # only our own namespace is named
        with pytest.raises(InputError, match="reserved for finpilot's own writers"):
            KINDS.check(Entry.from_json(manual(kind=kind)))
        assert ledger.size == 0


@pytest.mark.parametrize("actor", ["finpilot:fraud", "finpilot:console", "healer:local", "fraud-engine", "runbook:x"])
@pytest.mark.parametrize("kind", ["custom.deploy", "ops.manual_change"])
def test_an_appended_entry_never_carries_a_system_actor(tmp_path: Path, kind: str, actor: str) -> None:
    with open_ledger(settings(tmp_path)) as ledger:
        with pytest.raises(InputError) as err:
            ledger.append(Entry.from_json(manual(kind=kind, actor=actor)))
        assert err.value.field == "actor"
        assert actor not in str(err.value)
        with pytest.raises(InputError):
            KINDS.check(Entry.from_json(manual(kind=kind, actor=actor)))
        assert ledger.size == 0


def test_only_what_finpilot_wrote_counts_as_written_by_the_system() -> None:
    real = {"kind": "fraud.account", "actor": "fraud-engine", "action": "freeze", "subject": "account:c1"}
    assert is_system_entry(real)
    assert is_system_entry({**real, "actor": "token:ops"})
    assert not is_system_entry({**real, "actor": "finpilot:fraud"})  # the reviewer's forgery
    assert not is_system_entry({**real, "kind": "fraud.account_v2"})  # undeclared
    assert not is_system_entry({**real, "kind": "custom.fraud.account"})
    assert not is_system_entry({**manual()})  # declared, but open to appends
    assert not is_system_entry({"kind": 1, "actor": "fraud-engine"})
    assert not is_system_entry({})


def test_verify_export_counts_entries_in_system_namespaces_that_finpilot_did_not_write(tmp_path: Path) -> None:
    from finpilot.audit import verify_bundle

    forged = {"action": "freeze", "subject": "account:c2", "outcome": "ok", "evidence": {"customer_id": "c2"}}
    with open_ledger(settings(tmp_path)) as ledger:
        ledger.append(Entry(kind="fraud.account", actor="fraud-engine", **forged, system=True))
        # What an older finpilot's API stored when asked to: past every gate of today.
        ledger.append(Entry(kind="fraud.account", actor="finpilot:fraud", **forged, system=True))
        ledger.export(tmp_path / "bundle")
    report = verify_bundle(tmp_path / "bundle")
    assert report.ok
    kinds = report.to_json()["kinds"]
    assert isinstance(kinds, dict)
    assert (kinds["fraud.account"]["entries"], kinds["fraud.account"]["not_by_finpilot"]) == (2, 1)
    assert kinds["fraud.account"]["system_namespace"] is True
    assert any("namespaces that finpilot did not write: 1 " in note for note in report.notes)
