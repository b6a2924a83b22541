"""Incidents read back from the audit log: fault, detection, actions and recovery, with their audit indices.

:func:`build_incidents` is pure and deterministic: the same entries give the same incidents,
whatever order they are passed in (they are taken by audit index). The console's Incidents
timeline and the chaos drill both measure detection and recovery with it, from the ledger
rather than from the code that caused the fault.

How entries become incidents:

* Each entry is about one or more *keys*: its subject (``replica:payments/0@n1~2`` is the slot
  ``replica:payments/0``; ``node:n1`` and ``service:payments`` stay as they are; every
  ``db:<member>`` subject, ``db:pair`` included, is the one PostgreSQL pair ``db``), the
  replicas its evidence names (``slot``, ``instance``, ``instances``, ``replicas``,
  ``replicas_lost``), and the subjects in ``evidence.subject``, ``target`` and
  ``trigger.subject`` (a runbook's triggering entry).
* A **fault** (``chaos.*`` but ``*-clear``, which lifts one) opens an incident. So does a
  **detection** (``heal.restart``; ``heal.node`` suspect, NotReady or DiskPressure;
  ``db.fence``; ``db.sync`` relax) about keys no open incident holds: a crash nobody
  injected is an incident too, without a fault phase. A fault or detection about keys an
  open incident already holds joins it, so a crash loop or a second kill before recovery
  stays one incident.
* **Actions** (other ``heal.*``, ``runbook.*``, other ``db.*``) join the newest open incident
  sharing a key, or the incident holding the audit index their evidence names
  (``trigger_index``, ``cause_index``, ``event_index``, ``trigger.index``), even once it has
  recovered. They never open one: a drain is maintenance, not an incident.
* The incident waits on its **affected** keys: the replicas a fault or detection names (a
  node-down affects the replicas that were on the node; the node itself when it ran none),
  else its subject. **Recovery** entries mark keys recovered: ``heal.recovered`` (a slot is
  serving again), ``heal.node`` Ready (a node is back), ``db.promote`` ok (writes resume),
  ``db.sync`` synchronous ok (a lost standby is back in sync), ``chaos.inject latency`` with
  ``ms`` 0 (the delay is lifted), and any entry with outcome ``recovered``, ``resolved`` or
  ``cleared``. The incident closes when every affected key has recovered; until then it
  stays open, however old.
* Recoveries and follow-ups (``runbook.*``; ``db.*`` such as the failover summary, the old
  primary's rejoin and re-sync; other ``heal.node`` entries such as a lost node's new agent)
  that arrive after their incident closed, within 300 s of the recovery, are added to it as
  actions; later ones belong to no incident.

Durations are measured between entry times (wall clock, RFC 3339): detection is the first
detection entry minus the fault, recovery the closing recovery minus the fault (or minus the
opening detection when no fault was injected). A wall clock stepping back would make one
negative; it is clamped at 0.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from finpilot.audit import StoredEntry, is_system_entry
from finpilot.audit.kinds import CHAOS_INJECT, HEAL_NODE, HEAL_RECOVERED, HEAL_RESTART

PhaseName = Literal["fault", "detection", "action", "recovery"]
"""Where an entry stands in its incident."""

AuditRecord = StoredEntry | tuple[int, Mapping[str, Any]]
"""An entry with its audit index: a :class:`~finpilot.audit.StoredEntry`, or ``(index, fields)``."""

_RELEVANT = re.compile(rb'"kind":"(?:chaos|heal|db|runbook)\.')
_RECOVERED_OUTCOMES = frozenset({"recovered", "resolved", "cleared"})
_NODE_TROUBLE = frozenset({"suspect", "NotReady", "DiskPressure"})
_DB_KEY = "db"
_FOLLOW_UP_S = 300.0
_REPLICA_FIELDS = ("slot", "instance")
_REPLICA_LISTS = ("instances", "replicas", "replicas_lost")
_SUBJECT_FIELDS = ("subject", "target")
_INDEX_FIELDS = ("trigger_index", "cause_index", "event_index")


@dataclass(frozen=True, slots=True)
class IncidentPhase:
    """One audit entry in an incident."""

    phase: PhaseName
    index: int
    """The entry's audit index (``/api/v1/audit/entries/{index}``)."""
    time: str | None
    kind: str
    action: str
    subject: str
    outcome: str
    since_open_s: float | None
    """Seconds after the incident opened (its fault, or its first detection)."""

    def to_json(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "phase": self.phase,
            "index": self.index,
            "time": self.time,
            "kind": self.kind,
            "action": self.action,
            "subject": self.subject,
            "outcome": self.outcome,
            "since_open_s": self.since_open_s,
        }


@dataclass(frozen=True, slots=True)
class Incident:
    """A fault (or an unexplained detection) and what followed it, up to recovery."""

    id: str
    """``incident-<index of the opening entry>``: stable as the log grows."""
    subject: str
    """The opening entry's subject, e.g. ``replica:payments/0`` or ``node:n1``."""
    fault: str
    """The opening entry's action: ``kill``, ``node-down``, ``restart``, ``mark-not-ready`` ..."""
    injected: bool
    """Whether a ``chaos.*`` entry opened it."""
    status: Literal["open", "recovered"]
    affected: tuple[str, ...]
    """The keys it waits on, sorted: ``replica:<slot>``, ``node:<name>``, ``db:<cluster>`` ..."""
    recovered: tuple[str, ...]
    """The affected keys that have recovered, sorted."""
    opened_at: str | None
    closed_at: str | None
    detection_s: float | None
    """First detection minus the fault; None without an injected fault or before detection."""
    recovery_s: float | None
    """Closing recovery minus the opening entry; None while open."""
    phases: tuple[IncidentPhase, ...]
    """Every entry of the incident, by audit index."""

    @property
    def indices(self) -> tuple[int, ...]:
        """The audit indices of its entries, ascending."""
        return tuple(p.index for p in self.phases)

    def to_json(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "id": self.id,
            "subject": self.subject,
            "fault": self.fault,
            "injected": self.injected,
            "status": self.status,
            "affected": list(self.affected),
            "recovered": list(self.recovered),
            "opened_at": self.opened_at,
            "closed_at": self.closed_at,
            "detection_s": self.detection_s,
            "recovery_s": self.recovery_s,
            "phases": [p.to_json() for p in self.phases],
        }


@dataclass(slots=True)
class _Open:
    # The mutable form while entries are read; frozen into an Incident at the end.
    index: int
    subject: str
    fault: str
    injected: bool
    opened: datetime | None
    opened_at: str | None
    keys: set[str]
    needs: set[str]
    recovered: set[str] = field(default_factory=set)
    phases: list[IncidentPhase] = field(default_factory=list)
    detected: bool = False
    detected_at: datetime | None = None
    done: bool = False
    closed: datetime | None = None
    closed_at: str | None = None


def _replica_key(instance_or_slot: str) -> str:
    """``payments/0@n1~2`` (an instance id) or ``payments/0`` (a slot) -> ``replica:payments/0``."""
    return "replica:" + instance_or_slot.split("@", 1)[0]


def _subject_key(subject: str) -> str | None:
    kind, sep, name = subject.partition(":")
    if not sep or not name:
        return None
    if kind == "db":
        # db:pg1, db:pg2 and db:pair are the members of the one HA pair a data directory runs.
        return _DB_KEY
    return _replica_key(name) if kind == "replica" else f"{kind}:{name}"


def _keys(subject: str, evidence: Mapping[str, Any]) -> set[str]:
    keys = set()
    if (own := _subject_key(subject)) is not None:
        keys.add(own)
    keys |= _replicas(evidence)
    for name in _SUBJECT_FIELDS:
        value = evidence.get(name)
        if isinstance(value, str) and (key := _subject_key(value)) is not None:
            keys.add(key)
    if isinstance(evidence.get("cluster"), str):
        keys.add(_DB_KEY)
    trigger = evidence.get("trigger")
    cause = trigger.get("subject") if isinstance(trigger, Mapping) else None
    if isinstance(cause, str) and (key := _subject_key(cause)) is not None:
        keys.add(key)
    return keys


def _replicas(evidence: Mapping[str, Any]) -> set[str]:
    found = {_replica_key(v) for name in _REPLICA_FIELDS if isinstance(v := evidence.get(name), str) and v}
    for name in _REPLICA_LISTS:
        values = evidence.get(name)
        if isinstance(values, list):
            found |= {_replica_key(v) for v in values if isinstance(v, str) and v}
    return found


def _role(kind: str, action: str, outcome: str, evidence: Mapping[str, Any]) -> PhaseName | Literal["follow-up"] | None:
    if kind == CHAOS_INJECT.name and action == "latency" and evidence.get("ms") in (0, 0.0):
        return "recovery"
    if kind.startswith("chaos."):
        # Lifting a fault (disk-full-clear) is an operator's action; the healer records recovery.
        return "action" if action.endswith("-clear") else "fault"
    if kind.startswith("db."):
        return _db_role(kind.partition(".")[2], action, outcome)
    if outcome in _RECOVERED_OUTCOMES or kind == HEAL_RECOVERED.name:
        return "recovery"
    if kind == HEAL_NODE.name:
        if outcome == "Ready":
            return "recovery"
        # suspect, NotReady, DiskPressure; restarting a lost node's agent is what follows.
        return "detection" if outcome in _NODE_TROUBLE else "follow-up"
    if kind == HEAL_RESTART.name:
        return "detection"
    if kind.startswith("runbook."):
        return "follow-up"
    if kind.startswith("heal."):
        return "action"
    return None


def _db_role(step: str, action: str, outcome: str) -> PhaseName | Literal["follow-up"]:
    # The failover healer's entries (finpilot.heal._db._failover): fence, promote, failover,
    # rejoin, sync (relax / synchronous), restart. Writes resume at the promotion.
    if step == "fence" or (step == "sync" and action == "relax"):
        return "detection"
    if outcome == "ok" and (step == "promote" or (step == "sync" and action == "synchronous")):
        return "recovery"
    return "follow-up"


def _needs(subject: str, evidence: Mapping[str, Any]) -> set[str]:
    replicas = _replicas(evidence)
    if replicas:
        return replicas
    own = _subject_key(subject)
    return {own} if own is not None else set()


def _time(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else None


def _seconds(start: datetime | None, end: datetime | None) -> float | None:
    if start is None or end is None:
        return None
    return round(max(0.0, (end - start).total_seconds()), 6)


def _records(entries: Iterable[AuditRecord]) -> list[tuple[int, Mapping[str, Any]]]:
    rows: list[tuple[int, Mapping[str, Any]]] = []
    for e in entries:
        if not isinstance(e, StoredEntry):
            index, fields = int(e[0]), e[1]
        elif _RELEVANT.search(e.data):
            # Most of a busy ledger is payments and requests: skip them before parsing any JSON.
            index, fields = e.index, e.fields
        else:
            continue
        if is_system_entry(fields):  # an incident is only what finpilot itself recorded
            rows.append((index, fields))
    return sorted(rows, key=lambda row: row[0])


def _text(fields: Mapping[str, Any], name: str) -> str:
    value = fields.get(name)
    return value if isinstance(value, str) else ""


def build_incidents(entries: Iterable[AuditRecord]) -> list[Incident]:
    """Group audit entries into incidents, oldest first (see the module docstring for the rules).

    Entries of other kinds (``console.request``, ``fraud.*`` ...) are ignored, so a whole tail
    of the ledger may be passed. Each entry lands in at most one incident; an incident whose
    opening entry precedes the entries given is not seen (its later entries are skipped).
    """
    incidents: list[_Open] = []
    by_index: dict[int, _Open] = {}
    latest_for: dict[str, _Open] = {}
    for index, fields in _records(entries):
        kind, action, outcome = _text(fields, "kind"), _text(fields, "action"), _text(fields, "outcome")
        subject = _text(fields, "subject")
        raw = fields.get("evidence")
        evidence: Mapping[str, Any] = raw if isinstance(raw, Mapping) else {}
        role = _role(kind, action, outcome, evidence)
        if role is None:
            continue
        keys = _keys(subject, evidence)
        stamp = _text(fields, "time") or None
        at = _time(stamp)
        target = _match(incidents, by_index, keys, evidence)
        if target is None and role in ("follow-up", "recovery"):
            target = _recently_closed(latest_for, keys, at)
        if target is None:
            if role not in ("fault", "detection"):
                continue
            target = _Open(index, subject, action, role == "fault", at, stamp, keys=set(), needs=set())
            incidents.append(target)
        phase = _add(target, role, subject, evidence, keys, at)
        since = _seconds(target.opened, at)
        target.phases.append(IncidentPhase(phase, index, stamp, kind, action, subject, outcome, since))
        if not target.done and target.needs and target.needs <= target.recovered:
            target.done, target.closed, target.closed_at = True, at, stamp
        by_index[index] = target
        for key in target.keys:
            latest_for[key] = target
    return [_freeze(i) for i in incidents]


def _cause_indices(evidence: Mapping[str, Any]) -> list[Any]:
    causes = [evidence.get(name) for name in _INDEX_FIELDS]
    trigger = evidence.get("trigger")
    if isinstance(trigger, Mapping):
        causes.append(trigger.get("index"))
    return causes


def _match(
    incidents: list[_Open], by_index: dict[int, _Open], keys: set[str], evidence: Mapping[str, Any]
) -> _Open | None:
    # An entry that names its cause's index belongs with it, even after recovery: a runbook
    # triggered by a restart often runs once the replica is already back.
    for cause in _cause_indices(evidence):
        if isinstance(cause, int) and not isinstance(cause, bool) and cause in by_index:
            return by_index[cause]
    # Newest first: a second incident on the same keys can only exist once the first closed.
    for candidate in reversed(incidents):
        if not candidate.done and candidate.keys & keys:
            return candidate
    return None


def _recently_closed(latest_for: dict[str, _Open], keys: set[str], at: datetime | None) -> _Open | None:
    # What follows a recovery (the old primary's rejoin, a node's return) belongs to that
    # incident for a while; much later it is news of its own, or nothing.
    for key in sorted(keys):
        found = latest_for.get(key)
        closed = found.closed if found is not None and found.done else None
        if (
            found is not None
            and closed is not None
            and at is not None
            and (at - closed).total_seconds() <= _FOLLOW_UP_S
        ):
            return found
    return None


def _add(
    target: _Open,
    role: str,
    subject: str,
    evidence: Mapping[str, Any],
    keys: set[str],
    at: datetime | None,
) -> PhaseName:
    if role == "recovery":
        # A recovery counts once, in an incident still open; afterwards it is only a note.
        gained = (keys & target.needs) - target.recovered if not target.done else set()
        target.recovered |= gained
        return "recovery" if gained else "action"
    if target.done:
        return "action"
    target.keys |= keys
    if role == "fault":
        target.needs |= _needs(subject, evidence)
        return "fault"
    if role == "detection":
        target.needs |= _needs(subject, evidence)
        if not target.detected:
            target.detected, target.detected_at = True, at
            return "detection"
    return "action"


def _freeze(item: _Open) -> Incident:
    closed = item.done
    return Incident(
        id=f"incident-{item.index}",
        subject=item.subject,
        fault=item.fault,
        injected=item.injected,
        status="recovered" if closed else "open",
        affected=tuple(sorted(item.needs)),
        recovered=tuple(sorted(item.recovered & item.needs)),
        opened_at=item.opened_at,
        closed_at=item.closed_at if closed else None,
        detection_s=_seconds(item.opened, item.detected_at) if item.injected else None,
        recovery_s=_seconds(item.opened, item.closed) if closed else None,
        phases=tuple(item.phases),
    )
