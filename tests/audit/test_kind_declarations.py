"""Every declared entry kind: its schema is valid JSON Schema, and realistic entries of it are accepted.

The examples in ``kind_examples.json`` are shaped exactly as each writer writes them (read from
the writers, and from entries of real runs); a few more come from the writers' own helpers here.
The writers' own tests append real entries through their kinds besides.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from finpilot.audit import KINDS, Entry, EntryKind, open_ledger
from finpilot.core import InputError, Settings
from finpilot.heal._backup._drill import RestoreDrillCheck, RestoreDrillReport, _drill_evidence
from finpilot.heal._k8s._nodes import NodeAction

Example = dict[str, Any]  # actor, action, subject, outcome, evidence


def _from_writers() -> dict[str, list[Example]]:
    drill = RestoreDrillReport(
        backup_id="20260101T000000Z-ab12",
        snapshot_started_at="2026-01-01T00:00:00+00:00",
        drilled_at="2026-01-01T01:00:00+00:00",
        rpo_s=3600.0,
        rto_s=4.2,
        restored_to="/tmp/drill",
        checks=[RestoreDrillCheck("audit ledger (sqlite)", True, "120 entries, root matches the checkpoint")],
        ledger_entries=120,
    )
    pod = "pod:default/api-1"
    evict = NodeAction("evict", "n1", pod="api-1", namespace="default", reason="node dead for 300 s").to_json()
    return {
        "backup.restore_drill": [
            {
                "actor": "cli:ops",
                "action": "restore_drill",
                "subject": f"backup:{drill.backup_id}",
                "outcome": "ok",
                "evidence": _drill_evidence(drill),
            }
        ],
        "k8s.dead_node": [
            {"actor": "finpilot:healer", "action": "evict", "subject": pod, "outcome": "started", "evidence": evict},
            {
                "actor": "finpilot:healer",
                "action": "evict",
                "subject": pod,
                "outcome": "refused",
                "evidence": {**evict, "why": "disruption budget"},
            },
        ],
    }


def _examples() -> dict[str, list[Example]]:
    found: dict[str, list[Example]] = json.loads((Path(__file__).parent / "kind_examples.json").read_text())
    for name, more in _from_writers().items():
        found.setdefault(name, []).extend(more)
    return found


EXAMPLES = _examples()


def test_every_declared_kind_has_an_example() -> None:
    assert set(EXAMPLES) == {kind.name for kind in KINDS}


@pytest.mark.parametrize("kind", list(KINDS), ids=lambda k: k.name)
def test_the_schema_is_valid_json_schema(kind: EntryKind[Any]) -> None:
    schema = kind.json_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    assert schema["properties"]["kind"] == {"const": kind.name}
    assert kind.version >= 1
    assert kind.meaning
    # Only the kinds people append themselves are open to the API and the CLI.
    assert kind.reserved == (kind.name not in {"ops.manual_change"})


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_real_evidence_validates(name: str) -> None:
    kind = KINDS.get(name)
    assert kind is not None
    for example in EXAMPLES[name]:
        entry = kind.entry(**example)
        assert entry.evidence is example["evidence"]  # stored as given: the leaf keeps the writer's JSON shape
        leaf = {"kind": name, **example}
        assert KINDS.conformance(name, leaf)
        # The published schema agrees with the model.
        jsonschema.Draft202012Validator(kind.json_schema()).validate(leaf)


def test_a_writer_cannot_misspell_a_field_or_leave_the_vocabulary() -> None:
    decision = KINDS.get("fraud.decision")
    assert decision is not None
    example = EXAMPLES["fraud.decision"][0]
    with pytest.raises(InputError) as bad:
        decision.entry(**{**example, "evidence": {**example["evidence"], "scroe": 1}})
    assert bad.value.field == "evidence.scroe"
    with pytest.raises(InputError) as bad:
        decision.entry(**{**example, "subject": "account:c-17"})
    assert bad.value.field == "subject"
    with pytest.raises(InputError) as bad:
        decision.entry(**{**example, "outcome": "maybe"})
    assert bad.value.field == "outcome"


def test_reserved_kinds_reach_the_ledger_only_through_their_kind(tmp_path: Path) -> None:
    example = EXAMPLES["fraud.account"][0]
    kind = KINDS.get("fraud.account")
    assert kind is not None
    with open_ledger(Settings(data_dir=tmp_path)) as ledger:
        with pytest.raises(InputError) as refused:
            ledger.append(Entry(kind="fraud.account", **example))
        assert refused.value.field == "kind"
        index = ledger.append(kind.entry(**example))
        assert ledger.entry(index).fields["evidence"] == example["evidence"]
