"""``docs/audit-kinds.md``, generated from the registry so that the auditor's reference cannot drift from the code."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from finpilot.audit._entry import CUSTOM_PREFIX
from finpilot.audit._kind import EntryKind
from finpilot.audit._system import SYSTEM_ACTORS, SYSTEM_NAMESPACES

_SYSTEM = ", ".join(f"`{name}.*`" for name in SYSTEM_NAMESPACES)
_ACTORS = ", ".join(f"`{actor}`" for actor in SYSTEM_ACTORS)

_HEADER = f"""# Audit entry kinds

Generated from the entry-kind registry by `finpilot audit kinds --markdown`; do not edit by hand
(a test fails when this file and the code disagree).

Every entry in the ledger has a declared kind. A kind names its version, what it means, who may
act (`actor`), what they may do (`action`), to what (`subject`), how it may end (`outcome`), and
the JSON Schema of its `evidence`. In the patterns, `*` alone means anything and a trailing `*`
is a prefix.

**Reserved** kinds are written only by finpilot itself: the system reads them back (frozen
accounts, the model registry, the healer's history) or they speak for it. An entry sent over the
API or the CLI can never carry one. Your own facts go under `{CUSTOM_PREFIX}*`
(`{CUSTOM_PREFIX}deploy`, `{CUSTOM_PREFIX}approval`, ...), which the ledger checks only for structure.

**System namespaces** belong to finpilot's own writers: every kind in {_SYSTEM} is reserved,
declared or not (`fraud.account_v2` is refused as surely as `fraud.account`), and a kind declared
there must be reserved. **System actors** ({_ACTORS}) are the identities finpilot's components
write under; an entry sent over the API or the CLI can never carry one (the API records its
caller's token, `token:<name>`, as the actor). State is rebuilt only from entries of a reserved
kind in a system namespace whose actor fits the kind's declared actors.

`finpilot audit verify-export` counts, per kind, how many entries of a bundle conform to their
declared kind today. Entries written before a kind was declared keep their hashes and still verify.
"""


def _patterns(values: Iterable[str]) -> str:
    return ", ".join(f"`{v}`" for v in values)


def _fields(schema: dict[str, Any]) -> list[str]:
    required = set(schema.get("required", []))
    rows = []
    for name, spec in schema.get("properties", {}).items():
        kind = spec.get("type") or ("object" if "$ref" in spec else "any")
        if "anyOf" in spec:
            kind = " or ".join(str(part.get("type", "object")) for part in spec["anyOf"])
        note = str(spec.get("description", "")).replace("\n", " ")
        rows.append(f"| `{name}` | {kind} | {'yes' if name in required else 'no'} | {note} |")
    return rows


def kind_section(kind: EntryKind[Any]) -> str:
    """One kind's section: meaning, vocabulary, evidence fields and the full schema."""
    evidence = kind.json_schema()["properties"]["evidence"]
    lines = [
        f"## `{kind.name}` (version {kind.version}{', reserved' if kind.reserved else ''})",
        "",
        kind.meaning,
        "",
        f"- actor: {_patterns(kind.actors)}",
        f"- action: {_patterns(kind.actions)}",
        f"- subject: {_patterns(kind.subjects)}",
        f"- outcome: {_patterns(kind.outcomes)}",
        "",
        "| evidence field | type | required | meaning |",
        "| --- | --- | --- | --- |",
        *_fields(evidence),
        "",
        "<details><summary>JSON Schema</summary>",
        "",
        "```json",
        json.dumps(kind.json_schema(), indent=2, sort_keys=True),
        "```",
        "",
        "</details>",
        "",
    ]
    return "\n".join(lines)


def kinds_markdown(kinds: Iterable[EntryKind[Any]]) -> str:
    """The whole reference document for ``kinds``, in name order."""
    ordered = sorted(kinds, key=lambda k: k.name)
    index = ["| kind | version | reserved | meaning |", "| --- | --- | --- | --- |"]
    index += [
        f"| [`{k.name}`](#{k.name.replace('.', '')}) | {k.version} | {'yes' if k.reserved else 'no'} | {k.meaning} |"
        for k in ordered
    ]
    body = "\n".join(kind_section(k) for k in ordered)
    return f"{_HEADER}\n{len(ordered)} kinds are declared.\n\n" + "\n".join(index) + "\n\n" + body
