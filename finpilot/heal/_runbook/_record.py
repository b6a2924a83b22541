"""How runbook entries refer to the ledger: finding a trigger's index, keeping copied text recordable."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from finpilot.audit import Entry, Ledger
from finpilot.core import FinpilotError

_LONG_DIGITS = re.compile(r"\d{13,}")


def canonical(value: Any) -> str:
    """``value`` as sorted JSON, with integral floats as integers (the ledger's canonical form stores 0.0 as 0)."""

    def norm(v: Any) -> Any:
        if isinstance(v, float) and v.is_integer():
            return int(v)
        if isinstance(v, Mapping):
            return {str(k): norm(x) for k, x in v.items()}
        if isinstance(v, (list, tuple)):
            return [norm(x) for x in v]
        return v

    return json.dumps(norm(value), sort_keys=True, default=str)


def safe(value: Any) -> Any:
    """``value`` with digit runs of 13+ masked and strings cut to 1000 characters (recursively)."""
    # The ledger refuses anything that could be a card number; text copied from a trigger or an
    # error must not make a runbook's own record impossible to write.
    if isinstance(value, str):
        return _LONG_DIGITS.sub("[digits]", value)[:1000]
    if isinstance(value, Mapping):
        return {str(k): safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [safe(v) for v in value]
    return value


def index_of(ledger: Ledger, entry: Entry, *, within: int = 64) -> int | None:
    """The ledger index of ``entry`` among the newest ``within`` entries (the newest identical one), or None."""
    # A runtime listener gets the entry, not its index; it was appended just before, so it is
    # among the newest. Two identical entries are interchangeable as evidence.
    want = canonical(entry.evidence)
    key = (entry.kind, entry.actor, entry.action, entry.subject, entry.outcome)
    try:
        recent = ledger.tail(within)
    except FinpilotError:
        return None
    for stored in recent:
        f = stored.fields
        if (f.get("kind"), f.get("actor"), f.get("action"), f.get("subject"), f.get("outcome")) == key and canonical(
            f.get("evidence", {})
        ) == want:
            return stored.index
    return None
