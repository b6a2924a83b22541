"""The audit ledger: an append-only RFC 9162 Merkle log with signed C2SP checkpoints.

Typical use::

    from finpilot.audit import Entry, open_ledger
    from finpilot.audit.kinds import OPS_MANUAL_CHANGE
    with open_ledger(settings) as ledger:
        # Your own facts: any kind under custom.*, checked for structure only.
        index = ledger.append(Entry(kind="custom.deploy", actor="pipeline:main", action="promote",
                                    subject="service:payments@1.4.2", outcome="ok",
                                    evidence={"canary_p": 0.41}))
        # A declared kind: its vocabulary and evidence model are checked when it is built.
        ledger.append(OPS_MANUAL_CHANGE.entry(actor="user:ana", action="finish", subject="db:primary",
                                              outcome="ok", evidence={"ticket": "INC-7", "reason": "failover"}))
        proof = ledger.inclusion_proof(index)

The offline verifier (:func:`verify_bundle`, :func:`verify_inclusion_proof`,
:func:`verify_consistency_proof`) needs no database and no data directory.
"""

from finpilot.audit import kinds
from finpilot.audit._entry import CUSTOM_PREFIX, Entry
from finpilot.audit._kind import KINDS, EntryKind, is_system_entry
from finpilot.audit._kind_doc import kinds_markdown
from finpilot.audit._ledger import Ledger, StoredEntry, open_ledger
from finpilot.audit._pan import contains_pan
from finpilot.audit._system import SYSTEM_ACTORS, SYSTEM_NAMESPACES
from finpilot.audit._verifier import VerifyReport, verify_bundle, verify_consistency_proof, verify_inclusion_proof

__all__ = [
    "CUSTOM_PREFIX",
    "KINDS",
    "SYSTEM_ACTORS",
    "SYSTEM_NAMESPACES",
    "Entry",
    "EntryKind",
    "Ledger",
    "StoredEntry",
    "VerifyReport",
    "contains_pan",
    "is_system_entry",
    "kinds",
    "kinds_markdown",
    "open_ledger",
    "verify_bundle",
    "verify_consistency_proof",
    "verify_inclusion_proof",
]
