"""Fraud state that survives a restart: the feature windows and the frozen accounts.

Two files in a state directory (``data_dir/fraud`` for ``finpilot up``):

- ``features.snapshot``: :meth:`FeatureEngine.snapshot` of the live engine, written on a clean
  shutdown (and whenever :func:`save_state` is called). Without it, a restarted engine would
  score every customer as if it had no history.
- ``accounts.json``: the frozen accounts and the ledger size they were read at.

The audit ledger stays the source of truth for freezes: every freeze and unfreeze is a
``fraud.account`` entry appended before it takes effect. :func:`load_state` starts from the
saved set and replays only the ``fraud.account`` entries appended after it was saved, so a
crash that skipped the save loses nothing (the replay starts earlier), and start-up reads
the entries since the last clean stop instead of the whole ledger. That is the reason for the
checkpoint rather than a scan from entry 0: at 200 decisions a second a ledger grows by
17 M entries a day, and a full scan at start-up would grow with it. A separate state table
would be a second copy of the same facts that can disagree with the ledger; this file is
only a hint of where to start reading.

A restarted service also answers a repeated transaction id from the ledger: :func:`load_state`
finds the ``fraud.decision`` entries among the last :data:`DECISION_LOOKBACK` ledger entries
and hands the service each one's transaction id and index; the service reads an entry back
when its transaction returns. A client that re-sends a payment whose answer it never got (the
process died after the durable append) gets the recorded decision, and no second entry is
written. The bound keeps start-up time flat as the ledger grows: 100,000 entries is over 3
minutes of decisions at 500 a second, far longer than any client retries a payment, and
finding them took 0.57-0.69 s here (SQLite, no entry parsed, a loaded 2-core machine).

Only entries finpilot itself wrote count (:func:`finpilot.audit.is_system_entry`): no append
over the API or the CLI can write a ``fraud.*`` kind, and a forged entry left in a ledger by an
older version is skipped when its actor is not one the kind declares.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from finpilot.audit import Ledger, is_system_entry
from finpilot.audit.kinds import FRAUD_ACCOUNT, FRAUD_DECISION
from finpilot.core import InputError, StorageError, private_file
from finpilot.fraud._serving._service import FraudService

FEATURES_FILE = "features.snapshot"
"""The feature engine's snapshot in the state directory."""
ACCOUNTS_FILE = "accounts.json"
"""The frozen accounts and the ledger size they were read at."""

_PAGE = 10_000

DECISION_LOOKBACK = 100_000
"""How many of the newest ledger entries :func:`load_state` searches for decisions to remember."""


@dataclass(frozen=True)
class RestoredState:
    """What :func:`load_state` found: whether the features were restored, the frozen accounts, entries read."""

    features_restored: bool
    frozen: int
    entries_read: int
    decisions_recalled: int = 0


def write_atomically(path: Path, data: bytes) -> None:
    """Replace ``path`` with ``data`` (owner-only, fsynced): a reader sees the old file or the new one."""
    tmp = private_file(path.with_name(path.name + ".tmp"))  # frozen accounts are nobody else's business
    with tmp.open("wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def save_state(service: FraudService, directory: Path) -> None:
    """Write the feature snapshot and the frozen accounts to ``directory`` (each file replaced atomically)."""
    # The ledger size is read first: a freeze appended while the state is taken is then replayed
    # on load, and replaying a freeze or unfreeze already applied changes nothing.
    size = service.ledger.size
    snapshot, frozen = service.checkpoint_state()
    try:
        directory.mkdir(parents=True, exist_ok=True)
        write_atomically(directory / FEATURES_FILE, snapshot)
        accounts = {"version": 1, "ledger_size": size, "frozen": sorted(frozen)}
        write_atomically(directory / ACCOUNTS_FILE, json.dumps(accounts).encode())
    except OSError as exc:
        raise StorageError(
            f"cannot save the fraud state in {directory}: {exc.strerror or exc}",
            field="data_dir",
            fix="check that the data directory is writable and has space",
        ) from None


# A cheap test on the leaf bytes first: most entries are decisions and need no decoding.
_ACCOUNT_KIND = f'"{FRAUD_ACCOUNT.name}"'.encode()


def frozen_from_ledger(ledger: Ledger, frozen: set[str], start: int = 0) -> int:
    """Apply the ``fraud.account`` entries from index ``start`` on to ``frozen``, in order; entries read."""
    end = ledger.size
    position = min(max(start, 0), end)
    read = 0
    while position < end:
        stop = min(position + _PAGE, end)
        for stored in reversed(ledger.tail(stop - position, before=stop)):
            read += 1
            if _ACCOUNT_KIND not in stored.data:
                continue
            fields = stored.fields
            if fields.get("kind") != FRAUD_ACCOUNT.name or not is_system_entry(fields):
                # Only what the fraud service wrote: an entry forged into an older ledger over
                # the API (an actor the kind does not know) never freezes anyone.
                continue
            customer = str(fields.get("subject", "")).removeprefix("account:")
            if fields.get("action") == "freeze":
                frozen.add(customer)
            elif fields.get("action") == "unfreeze":
                frozen.discard(customer)
        position = stop
    return read


_DECISION_KIND = f'"{FRAUD_DECISION.name}"'.encode()


# Top-level fields follow the evidence in a leaf (keys sorted), and a quote inside a JSON
# string is always escaped: the last ',"kind":"' and ',"subject":"' are the entry's own.
_KIND_AT = b',"kind":"'
_DECISION_VALUE = FRAUD_DECISION.name.encode() + b'"'
_SUBJECT_AT = b',"subject":"payment:'


def decisions_from_ledger(ledger: Ledger, lookback: int = DECISION_LOOKBACK) -> dict[str, int]:
    """Transaction id -> index of its ``fraud.decision`` entry, among the newest ``lookback`` entries.

    No entry is parsed: the kind and the subject are found in the leaf bytes (canonical JSON,
    keys sorted), and only a subject holding an escape or non-ASCII text is decoded. The
    service reads an entry when its transaction comes back. No API or CLI append can write a
    ``fraud.*`` kind, so every such entry is the service's own.
    """
    end = ledger.size
    position = max(0, end - max(lookback, 0))
    out: dict[str, int] = {}
    while position < end:
        stop = min(position + _PAGE, end)
        for index, data in ledger.store.entries(position, stop):
            if _DECISION_KIND not in data:
                continue
            kind = data.rfind(_KIND_AT)
            if kind < 0 or not data.startswith(_DECISION_VALUE, kind + len(_KIND_AT)):
                continue
            start = data.rfind(_SUBJECT_AT)
            if start < 0:
                continue
            start += len(_SUBJECT_AT)
            tx = data[start : data.find(b'"', start)]
            if b"\\" in tx or not tx.isascii():
                tx = str(json.loads(data)["subject"]).removeprefix("payment:").encode("utf-8", "surrogatepass")
            out.setdefault(tx.decode("utf-8", "surrogatepass"), index)
        position = stop
    return out


def _saved_accounts(path: Path, ledger_size: int) -> tuple[set[str], int]:
    if not path.is_file():
        return set(), 0
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
        frozen = {str(x) for x in doc["frozen"]}
        size = int(doc["ledger_size"])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise InputError(
            f"{path} is not a saved fraud state: {exc}",
            field="data_dir",
            fix=f"delete {path}; the frozen accounts are then rebuilt from the whole audit ledger",
        ) from None
    if size > ledger_size:
        # The ledger is shorter than when the state was saved (a different or restored ledger):
        # the saved set cannot be trusted, so read the whole ledger.
        return set(), 0
    return frozen, size


def load_state(service: FraudService, directory: Path, *, lookback: int = DECISION_LOOKBACK) -> RestoredState:
    """Restore the features from ``directory`` (if saved), rebuild the frozen accounts from the ledger,
    and remember the decisions among its newest ``lookback`` entries (repeats get their recorded answer)."""
    frozen, start = _saved_accounts(directory / ACCOUNTS_FILE, service.ledger.size)
    read = frozen_from_ledger(service.ledger, frozen, start)
    snapshot_path = directory / FEATURES_FILE
    snapshot = snapshot_path.read_bytes() if snapshot_path.is_file() else None
    service.restore_state(snapshot, frozenset(frozen))
    recalled = service.recall_decisions(decisions_from_ledger(service.ledger, lookback))
    return RestoredState(snapshot is not None, len(frozen), read, recalled)
