"""Settings that were renamed, so an old ``finpilot.yaml`` fails with the new name and the fix.

finpilot is pre-1.0: a renamed setting keeps no alias (two spellings of one setting would be
two truths to document). An old key would still be refused as unknown, but that message only
says what is wrong; this table also says what it is called now and how to rewrite it.

The rules the renames follow: a secret is a reference, ``{env: NAME}`` or ``{file: PATH}``
(:class:`~finpilot.core.SecretRef`); every duration is a number of seconds whose name ends in
``_s``, and "how often" is spelled ``interval_s``.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from finpilot.core._field_problem import FieldProblem

_ANY = "*"
_SAME_VALUE = "rename the key; the value is unchanged"


@dataclass(frozen=True)
class Renamed:
    """One old setting: where it was (``*`` matches any key), what it is now, and how to rewrite it."""

    old: tuple[str, ...]
    new: str
    fix: str


RENAMED: tuple[Renamed, ...] = (
    Renamed(
        ("fraud", "alerts", "secret_env"),
        "fraud.alerts.secret: {env: NAME}",
        "replace 'secret_env: NAME' with 'secret: {env: NAME}'",
    ),
    Renamed(
        ("runbooks", "secret_env"),
        "runbooks.secret: {env: NAME}",
        "replace 'secret_env: NAME' with 'secret: {env: NAME}'",
    ),
    Renamed(("backup", "key_env"), "backup.key: {env: NAME}", "replace 'key_env: NAME' with 'key: {env: NAME}'"),
    Renamed(("backup", "key_file"), "backup.key: {file: PATH}", "replace 'key_file: PATH' with 'key: {file: PATH}'"),
    Renamed(
        ("backup", "max_age_days"),
        "backup.max_age_s (in seconds)",
        "write 'max_age_s: DAYS x 86400', e.g. 2592000 for 30 days",
    ),
    Renamed(("runtime", "heartbeat_period_s"), "runtime.heartbeat_interval_s", _SAME_VALUE),
    Renamed(("runtime", "reconcile_period_s"), "runtime.reconcile_interval_s", _SAME_VALUE),
    Renamed(
        ("runtime", "services", _ANY, "probes", _ANY, "period_s"),
        "interval_s",
        "rename the key to interval_s; the value is unchanged",
    ),
    Renamed(("db", "ha", "check_period_s"), "db.ha.check_interval_s", _SAME_VALUE),
)
"""Every renamed setting of ``finpilot.yaml``, old path first."""


def _found(data: Any, pattern: tuple[str, ...], at: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    if not isinstance(data, dict) or not pattern:
        return
    head, rest = pattern[0], pattern[1:]
    keys = [key for key in data if isinstance(key, str)] if head == _ANY else [head] if head in data else []
    for key in keys:
        if rest:
            yield from _found(data[key], rest, (*at, key))
        else:
            yield (*at, key)


def check_renamed(data: Any) -> None:
    """Raise :class:`FieldProblem` at the first old setting in raw config ``data``; do nothing when there is none."""
    for renamed in RENAMED:
        for path in _found(data, renamed.old):
            old = ".".join(path)
            new = renamed.new if "." in renamed.new else ".".join((*path[:-1], renamed.new))
            if path[-1] == "max_age_days" and isinstance(data["backup"]["max_age_days"], int | float):
                days = data["backup"]["max_age_days"]
                fix = f"write 'max_age_s: {round(days * 86400)}' ({days:g} days)"
            else:
                fix = renamed.fix
            raise FieldProblem(f"{old} was renamed: use {new}", path=path, fix=fix)
