"""Decoding ``audit append`` input: one object, an array, or JSON Lines, with useful positions."""

from __future__ import annotations

import pytest

from finpilot.cli._entry_input import build_entries, entry_from_options, parse_documents
from finpilot.core import InputError


def test_one_object_an_array_and_json_lines() -> None:
    assert parse_documents('{"a": 1}') == [{"a": 1}]
    assert parse_documents('[{"a": 1}, {"a": 2}]') == [{"a": 1}, {"a": 2}]
    assert parse_documents('{"a": 1}\n\n{"a": 2}\n') == [{"a": 1}, {"a": 2}]


def test_positions_point_at_the_problem() -> None:
    with pytest.raises(InputError, match=r"input is not JSON: line 3 column 7"):
        parse_documents('{"a": 1}\n{"a": 2}\n{"a": ]\n')
    # A broken multi-line document reports its own position, not "line 1".
    with pytest.raises(InputError, match=r"input is not JSON: line 3 column 1"):
        parse_documents('{\n  "a": 1,\n}')


def test_batch_errors_name_the_entry() -> None:
    good = {"kind": "custom.k", "actor": "a", "action": "x", "subject": "s", "outcome": "ok"}
    with pytest.raises(InputError) as caught:
        build_entries([good, {**good, "colour": "red"}])
    assert caught.value.field == "entries[1].colour"
    assert caught.value.message.startswith("entries[1]: ")


def test_options_build_one_entry() -> None:
    built = entry_from_options(
        kind="custom.k", actor="a", action="x", subject="s", outcome="ok", evidence='{"ticket": "OPS-1"}'
    )
    assert built.evidence == {"ticket": "OPS-1"}
    with pytest.raises(InputError) as caught:
        entry_from_options(kind="custom.k", actor=None, action="x", subject="s", outcome="ok", evidence=None)
    assert caught.value.field == "actor"
