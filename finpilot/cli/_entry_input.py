"""Turning ``audit append`` input (a JSON object, a JSON array, or JSON Lines) into entries.

Everything here validates and builds; nothing touches the ledger, so a bad batch is rejected
whole before a single entry is written.
"""

from __future__ import annotations

import json
from typing import Any

from finpilot.audit import Entry
from finpilot.core import InputError, SensitiveDataError


def _not_json(err: json.JSONDecodeError, *, line_offset: int = 0, what: str = "input") -> InputError:
    return InputError(
        f"{what} is not JSON: line {err.lineno + line_offset} column {err.colno} ({err.msg})",
        field="$",
        fix="send one JSON object, a JSON array of objects, or one object per line (JSON Lines)",
    )


def parse_documents(text: str) -> list[Any]:
    """Decode input text into a list of JSON values: an array's items, one object, or JSON Lines."""
    if not text.strip():
        raise InputError("no entry given: the input is empty", field="$", fix="pipe JSON on stdin or use --kind etc.")
    try:
        value = json.loads(text)
    except json.JSONDecodeError as whole:
        if whole.msg != "Extra data":
            # A broken single document: its own position is the useful one, even when the
            # document spans several lines.
            raise _not_json(whole) from None
        return _parse_lines(text)
    return value if isinstance(value, list) else [value]


def _parse_lines(text: str) -> list[Any]:
    values: list[Any] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            values.append(json.loads(line))
        except json.JSONDecodeError as err:
            raise _not_json(err, line_offset=number - 1) from None
    return values


def _in_batch(err: InputError, position: int, total: int) -> InputError:
    if total == 1:
        return err
    # Name the entry the way Ledger.append_many does (entries[i]), so a batch error reads the
    # same whichever check caught it; keep the type so `--json` readers see SensitiveDataError.
    cls = SensitiveDataError if isinstance(err, SensitiveDataError) else InputError
    field = f"entries[{position}].{err.field}" if err.field and err.field != "$" else f"entries[{position}]"
    return cls(f"entries[{position}]: {err.message}", field=field, fix=err.fix)


def build_entries(documents: list[Any]) -> list[Entry]:
    """Build an :class:`Entry` for every document, or raise naming the first bad one and its field."""
    if not documents:
        raise InputError("no entry given: the JSON array is empty", field="$")
    entries: list[Entry] = []
    for position, document in enumerate(documents):
        try:
            entries.append(Entry.from_json(document))
        except InputError as err:
            raise _in_batch(err, position, len(documents)) from None
    return entries


def entry_from_options(
    *,
    kind: str | None,
    actor: str | None,
    action: str | None,
    subject: str | None,
    outcome: str | None,
    evidence: str | None,
) -> Entry:
    """Build one entry from ``--kind`` ... ``--evidence``; a missing option is named like a missing field."""
    document: dict[str, Any] = {
        name: value
        for name, value in (
            ("kind", kind),
            ("actor", actor),
            ("action", action),
            ("subject", subject),
            ("outcome", outcome),
        )
        if value is not None
    }
    if evidence is not None:
        try:
            document["evidence"] = json.loads(evidence)
        except json.JSONDecodeError as err:
            raise InputError(
                f"--evidence is not JSON: line {err.lineno} column {err.colno} ({err.msg})",
                field="evidence",
                fix='pass a JSON object, e.g. --evidence \'{"ticket": "OPS-1"}\'',
            ) from None
    return Entry.from_json(document)
