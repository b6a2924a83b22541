"""Declared entry kinds: the auditor's contract for what each kind of entry means and carries.

Every kind is declared once (in :mod:`finpilot.audit.kinds`) as an :class:`EntryKind`: a name
and version, a line of meaning, the vocabulary of its actors, actions, subjects and outcomes,
and a pydantic model of its evidence. Writers build entries through their kind
(``FRAUD_DECISION.entry(...)``), which checks all of it; the ledger refuses an entry whose kind
is not declared, unless it is in the users' own ``custom.*`` namespace.

Reserved kinds are the ones finpilot reads back to rebuild its state (frozen accounts, model
registry, healer history) or that speak for it: only an entry built by the kind itself, in
process, may carry one. An entry that arrives as JSON (API, CLI) never can.

The registry also owns what only finpilot writes (:mod:`finpilot.audit._system`):
:data:`SYSTEM_NAMESPACES` (``fraud.``, ``heal.``, ``console.`` ...), where every kind is
reserved, declared or not, and :data:`SYSTEM_ACTORS`, which an appended entry may never carry.
:meth:`KindRegistry.written_by_system` is the one test a reader applies before it rebuilds
state from a stored entry.

Patterns in the vocabularies: ``*`` alone means anything; a trailing ``*`` is a prefix
(``token:*``); anything else must match exactly.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ValidationError

from finpilot.audit._entry import CUSTOM_PREFIX, DECLARED_KINDS, Entry, check_kind
from finpilot.audit._system import (
    SYSTEM_ACTORS,
    SYSTEM_NAMESPACES,
    in_system_namespace,
    refuse_system_actor,
    refuse_system_namespace,
)
from finpilot.core import InputError, StrictModel


class Evidence(StrictModel):
    """Base of every kind's evidence model: unknown fields are refused, so the schema is the whole truth."""


E = TypeVar("E", bound=BaseModel)


_COMPILED: dict[tuple[str, ...], tuple[bool, frozenset[str], tuple[str, ...]]] = {}


def _matches(value: str, patterns: tuple[str, ...]) -> bool:
    # Every entry a writer builds passes here four times: compile each vocabulary once into
    # (matches anything, exact words, prefixes) so a check is a set lookup and one startswith.
    compiled = _COMPILED.get(patterns)
    if compiled is None:
        exact = frozenset(p for p in patterns if not p.endswith("*"))
        prefixes = tuple(p[:-1] for p in patterns if p.endswith("*") and p != "*")
        compiled = _COMPILED[patterns] = ("*" in patterns, exact, prefixes)
    anything, exact, prefixes = compiled
    return anything or value in exact or (bool(prefixes) and value.startswith(prefixes))


def _vocabulary_schema(allowed: tuple[str, ...]) -> dict[str, Any]:
    # A closed vocabulary is an enum; one with a pattern in it (``*``, ``POST *``) can only be described.
    if any(value.endswith("*") for value in allowed):
        return {"type": "string", "x-patterns": list(allowed)}
    return {"enum": list(allowed)}


def _validation_field(exc: ValidationError) -> tuple[str, str]:
    first = exc.errors()[0]
    path = ".".join(str(p) for p in first["loc"])
    return (f"evidence.{path}" if path else "evidence"), str(first["msg"])


@dataclass(frozen=True, slots=True)
class EntryKind(Generic[E]):
    """One declared kind of audit entry.

    ``actions`` and ``outcomes`` are closed vocabularies; ``actors`` and ``subjects`` are
    patterns (see the module docstring). ``reserved`` kinds can only be written by finpilot
    itself (see :meth:`entry`); the rest may also be appended over the API and the CLI.
    """

    name: str
    version: int
    meaning: str
    evidence: type[E]
    actors: tuple[str, ...]
    actions: tuple[str, ...]
    subjects: tuple[str, ...]
    outcomes: tuple[str, ...]
    reserved: bool = True

    def entry(
        self,
        *,
        actor: str,
        action: str,
        subject: str,
        outcome: str,
        evidence: E | Mapping[str, Any],
        time: datetime | None = None,
        personal: Mapping[str, Any] | None = None,
        data_subject: str | None = None,
    ) -> Entry:
        """Build a checked entry of this kind; raise :class:`InputError` naming the field that does not fit.

        ``evidence`` is the kind's model, or a mapping that must validate against it (stored as
        given, so the leaf keeps the writer's JSON shape).
        """
        # A plain dict is the usual (and hot) case; isinstance against pydantic's ABC-based
        # metaclass costs a microsecond or two, so it is asked only when the type is not dict.
        data: Mapping[str, Any]
        is_model = type(evidence) is not dict and isinstance(evidence, BaseModel)
        if not is_model:
            data = evidence  # type: ignore[assignment]  # not a model, so the Mapping of the union
        else:
            assert isinstance(evidence, BaseModel)
            if not isinstance(evidence, self.evidence):
                raise InputError(
                    f"{self.name} evidence must be {self.evidence.__name__}, not {type(evidence).__name__}",
                    field="evidence",
                )
            data = evidence.model_dump(exclude_unset=True)
        entry = Entry(
            kind=self.name,
            actor=actor,
            action=action,
            subject=subject,
            outcome=outcome,
            evidence=data,
            time=time,
            personal=personal,
            data_subject=data_subject,
            system=True,
        )
        self.check(entry, evidence_checked=is_model)
        return entry

    def check(self, entry: Entry, *, evidence_checked: bool = False) -> None:
        """Raise :class:`InputError` unless ``entry`` fits this kind's vocabulary and evidence model."""
        actor, action, subject, outcome = entry.actor, entry.action, entry.subject, entry.outcome
        if not (
            type(actor) is str
            and type(action) is str
            and type(subject) is str
            and type(outcome) is str
            and _matches(actor, self.actors)
            and _matches(action, self.actions)
            and _matches(subject, self.subjects)
            and _matches(outcome, self.outcomes)
        ):
            self._refuse_vocabulary(entry)
        if not evidence_checked:
            problem = self.evidence_problem(entry.evidence)
            if problem is not None:
                field, message = problem
                raise InputError(
                    f"{self.name} entry field '{field}': {message}",
                    field=field,
                    fix=f"see the {self.name} schema: finpilot audit kinds --json",
                )

    def check_submitted(self, entry: Entry) -> None:
        """The check for an entry that arrived as data (API, CLI): reserved kinds and system actors are refused."""
        if self.reserved:
            raise InputError(
                f"entry kind '{self.name}' is reserved for finpilot's own writers",
                field="kind",
                fix=f"record your own facts under '{CUSTOM_PREFIX}*'",
            )
        if type(entry.actor) is str:
            refuse_system_actor(entry.actor)
        self.check(entry)

    def _refuse_vocabulary(self, entry: Entry) -> None:
        for name, value, allowed in (
            ("actor", entry.actor, self.actors),
            ("action", entry.action, self.actions),
            ("subject", entry.subject, self.subjects),
            ("outcome", entry.outcome, self.outcomes),
        ):
            if not isinstance(value, str) or not _matches(value, allowed):
                raise InputError(
                    f"{self.name} entry field '{name}' does not fit the kind",
                    field=name,
                    fix=f"{self.name} {name}s: {', '.join(allowed)}",
                )

    def evidence_problem(self, evidence: Any) -> tuple[str, str] | None:
        """``(field, message)`` when ``evidence`` does not validate against the model, else ``None``."""
        try:
            self.evidence.__pydantic_validator__.validate_python(evidence)
        except ValidationError as exc:
            return _validation_field(exc)
        return None

    def json_schema(self) -> dict[str, Any]:
        """The JSON Schema of a whole entry of this kind (its evidence is the model's schema)."""
        evidence = self.evidence.model_json_schema()
        defs = evidence.pop("$defs", None)
        schema: dict[str, Any] = {
            "title": self.name,
            "description": self.meaning,
            "type": "object",
            "required": ["kind", "actor", "action", "subject", "outcome", "evidence"],
            "properties": {
                "kind": {"const": self.name},
                "actor": {"type": "string", "x-patterns": list(self.actors)},
                "action": _vocabulary_schema(self.actions),
                "subject": {"type": "string", "x-patterns": list(self.subjects)},
                "outcome": _vocabulary_schema(self.outcomes),
                "evidence": evidence,
            },
            "x-version": self.version,
            "x-reserved": self.reserved,
        }
        if defs:
            schema["$defs"] = defs
        return schema

    def describe(self) -> dict[str, Any]:
        """The kind as JSON: what ``finpilot audit kinds --json`` lists for it."""
        return {
            "name": self.name,
            "version": self.version,
            "meaning": self.meaning,
            "reserved": self.reserved,
            "system_namespace": in_system_namespace(self.name),
            "actors": list(self.actors),
            "actions": list(self.actions),
            "subjects": list(self.subjects),
            "outcomes": list(self.outcomes),
            "schema": self.json_schema(),
        }


class KindRegistry:
    """Every declared kind by name. One instance, :data:`KINDS`, is filled by :mod:`finpilot.audit.kinds`."""

    system_namespaces: tuple[str, ...] = SYSTEM_NAMESPACES
    """Kind namespaces only finpilot's own writers use: every kind in them is reserved, declared or not."""
    system_actors: tuple[str, ...] = SYSTEM_ACTORS
    """Actors of finpilot's own components; an entry appended over the API or the CLI never carries one."""

    def __init__(self, table: dict[str, Any] | None = None) -> None:
        # KINDS shares its table with finpilot.audit._entry, whose prepare() looks kinds up there.
        self._kinds: dict[str, EntryKind[Any]] = {} if table is None else table

    def declare(self, kind: EntryKind[E]) -> EntryKind[E]:
        """Add ``kind``; a second declaration of one name is a programming error."""
        if kind.name in self._kinds:
            raise ValueError(f"entry kind {kind.name} is declared twice")
        if kind.name.startswith(CUSTOM_PREFIX):
            raise ValueError(f"{CUSTOM_PREFIX}* is the users' namespace; finpilot declares no kind there")
        if in_system_namespace(kind.name) and not kind.reserved:
            # finpilot reads these namespaces back to rebuild its state: an open kind there
            # would let an API caller write what the system later believes it wrote itself.
            raise ValueError(f"entry kind {kind.name} is in a system namespace and must be reserved")
        self._kinds[kind.name] = kind
        return kind

    def get(self, name: str) -> EntryKind[Any] | None:
        """The kind called ``name``, if declared."""
        return self._kinds.get(name)

    def __iter__(self) -> Iterator[EntryKind[Any]]:
        return iter(sorted(self._kinds.values(), key=lambda k: k.name))

    def __len__(self) -> int:
        return len(self._kinds)

    def __contains__(self, name: object) -> bool:
        return name in self._kinds

    def check(self, entry: Entry) -> None:
        """The ledger's gate for every entry it is given (see the module docstring).

        The ledger runs the same check inline (:func:`finpilot.audit._entry.prepare`); this is
        it for callers that want the verdict before they append.
        """
        if self._kinds is DECLARED_KINDS:
            check_kind(entry)
            return
        kind = self._kinds.get(entry.kind)
        if kind is None:
            if entry.kind.startswith(CUSTOM_PREFIX) and len(entry.kind) > len(CUSTOM_PREFIX):
                refuse_system_actor(entry.actor)
                return
            refuse_system_namespace(entry.kind)
            raise InputError(f"entry kind '{entry.kind}' is not declared", field="kind")
        if not entry.system:
            kind.check_submitted(entry)

    def written_by_system(self, fields: Mapping[str, Any]) -> bool:
        """Whether a stored entry's fields are ones finpilot's own writers wrote, so state may be rebuilt from it.

        The kind must be declared, reserved and in a system namespace (no append over the API or
        the CLI can write one since this check exists), and the actor must fit the kind's
        declared actors: what its writers use. A ledger written by an older finpilot may hold
        entries forged through the API; this refuses those whose kind is undeclared (or not
        reserved) or whose actor the kind does not know, but not a perfect copy of a real one.
        """
        name, actor = fields.get("kind"), fields.get("actor")
        if type(name) is not str or type(actor) is not str:
            return False
        kind = self._kinds.get(name)
        return kind is not None and kind.reserved and in_system_namespace(name) and _matches(actor, kind.actors)

    def conformance(self, name: str, leaf: Mapping[str, Any]) -> bool:
        """Whether a stored leaf fits its declared kind today (``custom.*`` and unknown kinds do not count)."""
        kind = self._kinds.get(name)
        if kind is None:
            return False
        for field, allowed in (
            ("actor", kind.actors),
            ("action", kind.actions),
            ("subject", kind.subjects),
            ("outcome", kind.outcomes),
        ):
            value = leaf.get(field)
            if not isinstance(value, str) or not _matches(value, allowed):
                return False
        return kind.evidence_problem(leaf.get("evidence", {})) is None


KINDS = KindRegistry(DECLARED_KINDS)
"""The registry of every declared entry kind."""


def is_system_entry(fields: Mapping[str, Any]) -> bool:
    """Whether stored entry ``fields`` were written by finpilot itself (:meth:`KindRegistry.written_by_system`).

    Every reader that rebuilds state from the ledger (frozen accounts, decisions to republish,
    the healer's history) skips entries for which this is false.
    """
    return KINDS.written_by_system(fields)
