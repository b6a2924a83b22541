"""Audit entries and their leaf form.

The leaf is the RFC 8785 form of the entry's public fields plus a salted commitment to
its personal data. Personal data lives outside the tree, so it can be erased (GDPR Art. 17)
while every hash, proof and signature stays valid: deleting the salt and payload leaves a
commitment that reveals nothing and can never be opened again.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, NamedTuple

import orjson

from finpilot.audit._canonical import canonical_fragment, canonical_json, dumps_sorted
from finpilot.audit._pan import contains_pan, has_digit_run
from finpilot.audit._system import refuse_system_actor, refuse_system_namespace
from finpilot.core import InputError, SensitiveDataError, rfc3339

LEAF_VERSION = 1
_TEXT_FIELDS = ("kind", "actor", "action", "subject", "outcome")
RESERVED_KIND_PREFIX = "audit."
CUSTOM_PREFIX = "custom."
"""Users' own kinds: checked only for structure (text fields, JSON evidence, no card numbers)."""
DECLARED_KINDS: dict[str, Any] = {}
"""Every declared kind by name (:class:`finpilot.audit._kind.EntryKind`), filled by the kind registry.

It lives here, below the registry, so that the ledger's append loop checks an entry's kind with
one dictionary lookup instead of a call into another module.
"""
"""Entry kinds the ledger writes itself (erasure records); appends from outside are refused."""
_MAX_TEXT = 512
_COMMIT_TAG = b"finpilot/personal/v1\x00"
_sha256 = hashlib.sha256
# finpilot API tokens must never be written anywhere; refuse one that slips into an entry.
_TOKEN = re.compile(rb"fp_[0-9a-f]{8}_[A-Za-z0-9_-]{20,}")


@dataclass(frozen=True, slots=True)
class Entry:
    """One audit record: who (actor) did what (action) to what (subject), with which outcome, and why (evidence).

    ``personal`` holds personal data about ``data_subject``; it is kept outside the tree and
    can be erased. ``time`` defaults to the ledger's clock at append.
    """

    kind: str
    actor: str
    action: str
    subject: str
    outcome: str
    evidence: Mapping[str, Any] = field(default_factory=dict)
    time: datetime | None = None
    personal: Mapping[str, Any] | None = None
    data_subject: str | None = None
    system: bool = field(default=False, compare=False, repr=False)
    """Set only by :meth:`EntryKind.entry`, which has checked the entry against its kind in process.

    It is not part of the leaf. An entry decoded from JSON (:meth:`from_json`) never has it, so
    API and CLI appends can never write a reserved kind."""

    @classmethod
    def from_json(cls, obj: Any) -> Entry:
        """Build an entry from decoded JSON (API bodies, CLI input); raise :class:`InputError` naming the field."""
        if not isinstance(obj, dict):
            raise InputError("an entry must be a JSON object", field="$", fix='send {"kind": ..., "actor": ...}')
        allowed = {*_TEXT_FIELDS, "evidence", "personal", "data_subject"}
        unknown = sorted(set(obj) - allowed)
        if unknown:
            raise InputError(
                f"unknown entry field '{unknown[0]}'",
                field=unknown[0],
                fix=f"allowed fields: {', '.join(sorted(allowed))}",
            )
        missing = [name for name in _TEXT_FIELDS if name not in obj]
        if missing:
            raise InputError(
                f"entry field '{missing[0]}' is missing",
                field=missing[0],
                fix=f"every entry needs {', '.join(_TEXT_FIELDS)}",
            )
        evidence = obj.get("evidence", {})
        personal = obj.get("personal")
        data_subject = obj.get("data_subject")
        return cls(
            kind=obj["kind"],
            actor=obj["actor"],
            action=obj["action"],
            subject=obj["subject"],
            outcome=obj["outcome"],
            evidence=evidence,
            personal=personal,
            data_subject=data_subject,
        )


@dataclass(frozen=True, slots=True)
class PersonalRow:
    """What is stored beside the tree for an entry with personal data."""

    data_subject: str
    salt: bytes
    payload: bytes


class Prepared(NamedTuple):
    """An entry turned into leaf bytes, ready to append (a tuple: built once per entry, cheaply)."""

    data: bytes
    hash: bytes
    personal: PersonalRow | None


def commitment(salt: bytes, payload: bytes) -> str:
    """The hex commitment the leaf holds for a personal payload."""
    return hashlib.sha256(_COMMIT_TAG + salt + payload).hexdigest()


def _check_text(entry: Entry) -> None:
    for name in _TEXT_FIELDS:
        value = getattr(entry, name)
        # Fast accept first: a short string that does not start with blank is the usual case.
        if type(value) is str and 0 < len(value) <= _MAX_TEXT and not value[0].isspace():
            continue
        if not isinstance(value, str) or not value.strip():
            raise InputError(f"entry field '{name}' must be a non-empty string", field=name)
        if len(value) > _MAX_TEXT:
            raise InputError(
                f"entry field '{name}' is {len(value)} characters; the limit is {_MAX_TEXT}",
                field=name,
                fix="put long detail in evidence",
            )


def _refuse_sensitive(data: bytes, fields: Callable[[], Mapping[str, Any]], label: str) -> None:
    # Scan the canonical bytes once (cheap); only on a hit walk the fields to name the culprit.
    pan = contains_pan(data)
    token = b"fp_" in data and _TOKEN.search(data) is not None
    if not pan and not token:
        return
    where = fields()
    culprit = label
    for name, value in where.items():
        blob = canonical_json(value)
        if (pan and contains_pan(blob)) or (token and _TOKEN.search(blob)):
            culprit = f"{label}.{name}" if label != "entry" else name
            break
    if pan:
        raise SensitiveDataError(
            f"entry field '{culprit}' contains what looks like a full card number (PAN); it was not stored",
            field=culprit,
            fix="record a token or the last four digits instead of the card number",
        )
    raise SensitiveDataError(
        f"entry field '{culprit}' contains a finpilot API token; it was not stored",
        field=culprit,
        fix="record the token's id, never the token",
    )


_new_tuple = tuple.__new__


def prepare(entry: Entry, now: datetime | str, max_bytes: int, *, reserved_ok: bool = False) -> Prepared:
    """Validate an entry and build its leaf. Raises :class:`InputError` and stores nothing on bad input.

    ``now`` may be given pre-formatted (RFC 3339) so that a batch formats its time once.
    This is the ledger's hot path: everything here is paid once per entry appended.
    """
    kind, actor, action, subject, outcome = entry.kind, entry.actor, entry.action, entry.subject, entry.outcome
    # One inline test for the usual case; anything it doubts goes to _check_text, which raises
    # the precise error (or passes what was merely unusual, such as a leading space).
    if (
        type(kind) is not str
        or type(actor) is not str
        or type(action) is not str
        or type(subject) is not str
        or type(outcome) is not str
        or not (0 < len(kind) <= _MAX_TEXT and 0 < len(actor) <= _MAX_TEXT and 0 < len(action) <= _MAX_TEXT)
        or not (0 < len(subject) <= _MAX_TEXT and 0 < len(outcome) <= _MAX_TEXT)
        or kind[0].isspace()
        or actor[0].isspace()
        or action[0].isspace()
        or subject[0].isspace()
        or outcome[0].isspace()
    ):
        _check_text(entry)
    if not reserved_ok and kind.startswith(RESERVED_KIND_PREFIX):
        # verify() trusts audit.* records (erasures); only the ledger itself may write them.
        raise InputError(
            f"entry kind '{kind}' is reserved for the ledger itself",
            field="kind",
            fix=f"use a kind that does not start with '{RESERVED_KIND_PREFIX}'",
        )
    evidence = entry.evidence
    if type(evidence) is not dict:
        if not isinstance(evidence, Mapping):
            raise InputError("entry field 'evidence' must be a JSON object", field="evidence")
        evidence = dict(evidence)
    personal_row: PersonalRow | None = None
    commit: str | None = None
    if entry.personal is not None or entry.data_subject is not None:
        personal_row = _personal_row(entry)
        commit = commitment(personal_row.salt, personal_row.payload)
    stamp = entry.time if entry.time is not None else now
    when = stamp if isinstance(stamp, str) else rfc3339(stamp)
    leaf = {
        "action": action,
        "actor": actor,
        "evidence": canonical_fragment(evidence, path="evidence"),
        "kind": kind,
        "outcome": outcome,
        "personal": commit,
        "subject": subject,
        "time": when,
        "v": LEAF_VERSION,
    }
    try:
        data = dumps_sorted(leaf)
    except orjson.JSONEncodeError:
        raise InputError(
            "entry text is not valid Unicode (lone surrogate)", field="entry", fix="send UTF-8 text"
        ) from None
    if len(data) > max_bytes:
        raise InputError(
            f"entry is {len(data)} bytes in canonical form; the limit is {max_bytes}",
            field="evidence",
            fix="store large artefacts elsewhere and record their hash in evidence",
        )
    # An ASCII PAN needs a run of 13 digits/separators somewhere; our own time stamp never has
    # one ("2026-11-28T..." breaks at the T), so one C-speed test clears almost every entry.
    # Canonical JSON escapes only control characters, so only non-ASCII text can spell digits
    # otherwise (fullwidth, Arabic-Indic): that goes to the full scan too.
    if has_digit_run(data) or b"fp_" in data or not data.isascii():
        # Keys are sorted, so "time" and "v" close the leaf: scan only what precedes them,
        # and not our own commitment, whose random hex digits could pass for a card number.
        head = data[: data.rindex(b',"time":"')]
        if commit is not None:
            head = head.replace(b'"personal":"' + commit.encode() + b'"', b'"personal":null')
        if contains_pan(head) or _TOKEN.search(head):
            _refuse_sensitive(
                head,
                lambda: {n: getattr(entry, n) for n in ("kind", "actor", "action", "subject", "outcome", "evidence")},
                "entry",
            )
    # tuple.__new__ skips NamedTuple's Python-level constructor: a tenth of a microsecond per entry.
    return _new_tuple(Prepared, (data, _sha256(b"\x00" + data).digest(), personal_row))


def check_kind(entry: Entry) -> None:
    """Raise :class:`InputError` unless ``entry``'s kind may be appended as it is.

    A declared kind: an entry its kind built in process passes; one that arrived as data is
    refused for a reserved kind and checked in full otherwise. ``custom.*``: structure only, and
    no system actor. A kind in a system namespace, declared or not, never arrives as data.
    Anything else is refused.
    """
    kind = entry.kind
    spec = DECLARED_KINDS.get(kind)
    if spec is not None:
        if not entry.system:
            spec.check_submitted(entry)
        return
    if kind.startswith(CUSTOM_PREFIX) and len(kind) > len(CUSTOM_PREFIX):
        refuse_system_actor(entry.actor)
        return
    refuse_system_namespace(kind)
    raise InputError(
        f"entry kind '{kind}' is not declared",
        field="kind",
        fix=f"use a declared kind (finpilot audit kinds) or your own under '{CUSTOM_PREFIX}', "
        f"e.g. {CUSTOM_PREFIX}{kind}",
    )


def _personal_row(entry: Entry) -> PersonalRow:
    if not isinstance(entry.personal, Mapping) or not entry.personal:
        raise InputError(
            "entry field 'personal' must be a non-empty JSON object when data_subject is set",
            field="personal",
        )
    if not isinstance(entry.data_subject, str) or not entry.data_subject.strip():
        raise InputError(
            "entry field 'data_subject' is required with personal data",
            field="data_subject",
            fix="name the person the data is about, e.g. customer:123, so it can be erased later",
        )
    # Built from its two parts so that an error names "personal.x", not a path inside a wrapper;
    # JCS orders "data_subject" before "personal", so the bytes are those of the whole object.
    payload = (
        b'{"data_subject":'
        + canonical_json(entry.data_subject, path="data_subject")
        + b',"personal":'
        + canonical_json(dict(entry.personal), path="personal")
        + b"}"
    )
    _refuse_sensitive(payload, lambda: {"data_subject": entry.data_subject, "personal": entry.personal}, "entry")
    return PersonalRow(entry.data_subject, os.urandom(32), payload)
