"""What only finpilot itself writes: the kind namespaces it reads back and the actors it writes as.

The entry-kind registry (:mod:`finpilot.audit._kind`) declares both and enforces them; they live
here, below the registry, because the ledger's append loop (:mod:`finpilot.audit._entry`) checks
them too.

- :data:`SYSTEM_NAMESPACES`: every kind in one of these namespaces is reserved for finpilot's own
  writers, declared or not (``fraud.account_v2`` is refused as surely as ``fraud.account``).
  finpilot rebuilds its state (frozen accounts, decisions, the healer's history) from them.
- :data:`SYSTEM_ACTORS`: the identities finpilot's own components write under. An entry that
  arrives as data (API, CLI) may never carry one; the API stamps its caller's token instead.
"""

from __future__ import annotations

from finpilot.core import InputError

SYSTEM_NAMESPACES: tuple[str, ...] = (
    "audit",
    "backup",
    "chaos",
    "console",
    "db",
    "deliver",
    "fraud",
    "heal",
    "k8s",
    "router",
    "runbook",
    "watch",
)
"""Kind namespaces (the part before the first dot) that only finpilot's own writers may use."""

SYSTEM_ACTORS: tuple[str, ...] = (
    "anonymous",
    "finpilot:*",
    "fraud-alerts",
    "fraud-drift",
    "fraud-engine",
    "fraud-registry",
    "fraud-retrainer",
    "fraud-trainer",
    "healer:*",
    "runbook:*",
    "scheduler:*",
)
"""Actors of finpilot's own components (a trailing ``*`` is a prefix); never accepted from outside."""

_NAMESPACE_PREFIXES = tuple(f"{name}." for name in SYSTEM_NAMESPACES)
ACTOR_EXACT = frozenset(a for a in SYSTEM_ACTORS if not a.endswith("*"))
"""The whole-name system actors (the ledger's append loop tests these inline)."""
ACTOR_PREFIXES = tuple(a[:-1] for a in SYSTEM_ACTORS if a.endswith("*"))
"""The prefixes of the patterned system actors."""
_FIX = "record your own facts under 'custom.*' (finpilot audit kinds lists what is reserved)"


def in_system_namespace(kind: str) -> bool:
    """Whether ``kind`` lies in a namespace reserved for finpilot's own writers."""
    return kind.startswith(_NAMESPACE_PREFIXES)


def is_system_actor(actor: str) -> bool:
    """Whether ``actor`` is one that finpilot's own components write under."""
    return actor in ACTOR_EXACT or actor.startswith(ACTOR_PREFIXES)


def refuse_system_namespace(kind: str) -> None:
    """Raise :class:`InputError` naming ``kind`` if it is in a system namespace (for entries that arrived as data)."""
    if in_system_namespace(kind):
        # Only the namespace is named: it is one of ours, while the rest is the caller's text.
        namespace = kind.partition(".")[0]
        raise InputError(
            f"entry kind '{namespace}.*' is a namespace reserved for finpilot's own writers",
            field="kind",
            fix=_FIX,
        )


def refuse_system_actor(actor: str) -> None:
    """Raise :class:`InputError` naming ``actor`` if it is a system actor (for entries that arrived as data)."""
    if is_system_actor(actor):
        raise InputError(
            "entry field 'actor' names one of finpilot's own components; an appended entry cannot speak for finpilot",
            field="actor",
            fix="name yourself (the API records your token as the actor), e.g. pipeline:main or user:ana",
        )
