"""One HTTP scorer process's share of the customers, kept in step with the others through the ledger.

The audit ledger is the replication log. Every scorer appends its ``fraud.decision`` entries to
the one shared ledger and tails it (:meth:`Partition.catch_up`, every few tens of
milliseconds): a decision on a customer another scorer owns is counted in its terminal's windows
only (:meth:`FeatureEngine.observe_elsewhere`), so terminal features see every payment whatever
the number of scorers. A ``fraud.label`` reaches every scorer's terminal windows, a
``fraud.account`` (freeze, unfreeze) the owner's frozen set: a label or a freeze posted anywhere
reaches the owner. Only entries finpilot wrote count (:func:`finpilot.audit.is_system_entry`).

A restart is snapshot + ledger: :meth:`Partition.save` writes the feature snapshot, the frozen
accounts and the ledger position it covers; :meth:`Partition.restore` loads them and replays the
ledger from there, its own customers' decisions in full (their windows, and remembered so that a
retried payment gets its first decision back) without deciding them again.

With ``index=None`` the partition owns nobody and only mirrors: it remembers every decided
payment (so the console can take a label for it) and every freeze, and tells the service's
observers about the decisions made in other processes (the Fraud page's stats, alerts, drift)
and the freezes the policy made there (so they reach the payments service). They are told in
ledger order, after the page they are on is applied and outside the service's lock. Each
decision is told once: one the service made itself was told in-process and is not told again;
an account change once too (:meth:`FraudService._notify` keeps the indexes it told).
A mirrored decision carries what its entry holds, so no feature vector (``verdict.features``
is empty).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import threading
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import orjson

from finpilot.audit import is_system_entry
from finpilot.audit.kinds import FRAUD_ACCOUNT, FRAUD_DECISION, FRAUD_LABEL
from finpilot.core import InputError, safe_child
from finpilot.fraud._payment import Payment
from finpilot.fraud._scorer import Score
from finpilot.fraud._serving._forked_save import fork_snapshot, snapshot_done
from finpilot.fraud._serving._persist import FEATURES_FILE, decisions_from_ledger, write_atomically
from finpilot.fraud._serving._ring import HashRing
from finpilot.fraud._serving._service import ACTOR, FraudService, decision_of, decision_rows

_log = logging.getLogger("finpilot.fraud")

POSITION_FILE = "partition.json"
"""The ledger position a partition snapshot covers, its frozen accounts and its counted payments."""
_PAGE = 2_000
_KINDS = (b'"' + FRAUD_DECISION.name.encode() + b'"', b'"' + FRAUD_LABEL.name.encode() + b'"')
_ACCOUNT = b'"' + FRAUD_ACCOUNT.name.encode() + b'"'
SHRINK_STEP = 32 * 2**20
"""How much of an old snapshot file one tail round removes (a smaller file goes at once)."""
# How far back from the newest remembered payment save() looks for ones the tail has not passed.
_AHEAD_SCAN_STOP = 1_000


def partition_dir(state_dir: Path, index: int) -> Path:
    """Where scorer ``index`` keeps its snapshot (``data_dir/fraud/partition-<i>``)."""
    return state_dir / f"partition-{index}"


@dataclass
class CatchUpStats:
    """What the tail applied so far."""

    own: int = 0
    elsewhere: int = 0
    labels: int = 0
    accounts: int = 0
    skipped: int = 0
    told: int = 0
    """Decisions made elsewhere that a mirror passed on to the service's observers."""


class Partition:
    """Scorer ``index`` of ``ring``: its :class:`FraudService`, the ledger position it has applied up to."""

    def __init__(self, service: FraudService, ring: HashRing, index: int | None, directory: Path | None = None) -> None:
        if index is not None and not 0 <= index < ring.members:
            raise InputError(f"scorer {index} is not on a ring of {ring.members}", field="index")
        self.service = service
        self.ring = ring
        self.index = index
        self.directory = directory
        self.position = 0
        self.stats = CatchUpStats()
        self._tail_lock = threading.Lock()  # one catch-up at a time; save() reads a consistent position
        # A mirror's observer calls for the page being applied: made once the service's lock is
        # released (an alert appends to the ledger), before the next page, in ledger order.
        self._tell: list[tuple[str, tuple[Any, ...]]] = []
        self._saving: tuple[int, dict[str, Any]] | None = None  # (child pid, partition.json to commit)
        self._removing: list[Path] = []  # old snapshot files, removed a step at a time (_shrink)
        self._save_lock = threading.RLock()  # the tail thread's saves and a stop's final one, one at a time

    def owns(self, customer_id: str) -> bool:
        """Whether this scorer decides ``customer_id``'s payments."""
        return self.index is not None and self.ring.owner(customer_id) == self.index

    # ------------------------------------------------------------------ the tail
    def catch_up(self, *, skip: frozenset[str] = frozenset()) -> int:
        """Apply the ledger's entries since the last call; how many were read."""
        with self._tail_lock:
            end = self.service.ledger.size
            read = 0
            while self.position < end:
                stop = min(self.position + _PAGE, end)
                rows = self.service.ledger.store.entries(self.position, stop)
                # The service's lock once per page, not per entry: scoring waits at most one page.
                with self.service._lock:
                    for index, data in rows:
                        self._apply(index, data, skip)
                self.position = stop
                read += len(rows)
                tell, self._tell = self._tell, []
                for method, args in tell:
                    self.service._notify(method, *args)
            return read

    def _apply(self, index: int, data: bytes, skip: frozenset[str]) -> None:
        is_account = _ACCOUNT in data
        if not is_account and not any(kind in data for kind in _KINDS):
            return
        fields: dict[str, Any] = orjson.loads(data)
        if not is_system_entry(fields):
            self.stats.skipped += 1
            return
        kind, evidence = fields.get("kind"), fields.get("evidence") or {}
        if kind == FRAUD_DECISION.name:
            self._apply_decision(index, fields, evidence, skip)
        elif kind == FRAUD_LABEL.name:
            self._apply_label(fields, evidence)
        elif kind == FRAUD_ACCOUNT.name:
            self._apply_account(index, fields, evidence)

    def _apply_decision(
        self, index: int, fields: dict[str, Any], evidence: dict[str, Any], skip: frozenset[str]
    ) -> None:
        service = self.service
        try:
            (tx, time, customer, terminal, amount), row = decision_rows(index, fields)
            model_score = float(evidence.get("model_score", row[1]))
        except (KeyError, TypeError, ValueError):
            self.stats.skipped += 1
            return
        payment = Payment(tx, time, customer, terminal, amount)
        if self.index is None:
            if tx not in service._seen:
                # Decided in another process. One this service decided itself has been in _seen
                # since before its append (and its observers were told in-process), and one the
                # mirror passed on is remembered below: each decision is told once.
                verdict = Score(tx, row[1], model_score, row[2], row[3])
                self._tell.append(("on_decision", (payment, verdict, decision_of(row), index)))
                self.stats.told += 1
            service._remember_decided(payment, payment.time, row)
            return
        if not self.owns(payment.customer):
            # Another scorer's decision can reach this tail after this scorer's own later payments:
            # it is counted at the stream's time, the rule the service applies to a late payment.
            engine = service.scorer.engine
            used = payment if payment.time >= engine.now else replace(payment, time=engine.now)
            engine.observe_elsewhere(used)
            service._latest = max(service._latest, service.scorer.engine.now)
            self.stats.elsewhere += 1
            return
        if tx in service._seen or tx in skip:
            service._remember_decided(payment, service._seen.get(tx, (None, payment.time))[1], row)
            return
        # Decided by an earlier life of this scorer (or another writer): its windows, no new decision.
        used_time = max(payment.time, service._latest)
        service.scorer.engine.update_and_features(
            Payment(tx, used_time, payment.customer, payment.terminal, payment.amount)
        )
        service._latest = used_time
        service._remember_decided(payment, used_time, row)
        self.stats.own += 1

    def _apply_label(self, fields: dict[str, Any], evidence: dict[str, Any]) -> None:
        if self.index is None:
            return
        try:
            payment = Payment(
                str(fields.get("subject", "")).removeprefix("payment:"),
                int(evidence["time"]),
                str(evidence["customer_id"]),
                str(evidence["terminal_id"]),
                1.0,
            )
            known_at = evidence.get("known_at")
            self.service.scorer.engine.observe_label(
                payment, bool(evidence["fraud"]), known_at=None if known_at is None else int(known_at)
            )
        except (KeyError, TypeError, ValueError):
            self.stats.skipped += 1  # a label written before labels carried the payment's time
            return
        self.stats.labels += 1

    def _apply_account(self, index: int, fields: dict[str, Any], evidence: dict[str, Any]) -> None:
        customer = str(evidence.get("customer_id") or str(fields.get("subject", "")).removeprefix("account:"))
        if self.index is not None and not self.owns(customer):
            return
        frozen = self.service._frozen
        action = fields.get("action")
        if action == "freeze":
            frozen.add(customer)
        elif action == "unfreeze":
            frozen.discard(customer)
        else:
            return
        self.stats.accounts += 1
        if self.index is None and fields.get("actor") == ACTOR:
            # A freeze the policy made in a scorer: the mirror's observers (the payments sync) hear of it.
            self._tell.append(("on_account", (customer, str(action), str(evidence.get("reason", "")), index)))

    # ------------------------------------------------------------------ snapshot + ledger
    def save(self, *, wait: bool = True) -> None:
        """Snapshot the partition: its feature state, frozen accounts and ledger position, all of one instant.

        A forked child writes the feature state (:mod:`._forked_save`), so the locks are held for
        the fork and not for a copy of every row. ``partition.json`` names the snapshot file it
        goes with and is replaced only once that file is complete: a crash at any moment leaves a
        matching pair. ``wait=False`` (the periodic save) returns once the child is forked, and
        :meth:`finish_save` commits its file later; a save waits for one still being written.
        """
        if self.directory is None or self.index is None:
            return
        with self._save_lock:
            self._save(self.directory, wait=wait)

    def _save(self, directory: Path, *, wait: bool) -> None:
        self.finish_save(wait=True)
        directory.mkdir(parents=True, exist_ok=True)
        # A name no earlier life used (its pid may come back in a container): the file the
        # current partition.json names is never overwritten.
        stamp = time.time_ns()
        while (path := directory / f"features-{stamp}.snapshot").exists():
            stamp += 1
        copied: bytes | None = None
        with self._tail_lock, self.service._lock:
            doc = {
                "version": 2,
                "ledger_position": self.position,
                "members": self.ring.members,
                "frozen": sorted(self.service._frozen),
                "ahead": self._counted_ahead(),
                "features": path.name,
            }
            pid = fork_snapshot(self.service.scorer.engine, path)
            if pid is None:
                copied = self.service.scorer.engine.snapshot()
        if pid is None:
            assert copied is not None
            write_atomically(path, copied)
            self._commit(doc)
            return
        self._saving = (pid, doc)
        if wait:
            self.finish_save(wait=True)

    def finish_save(self, *, wait: bool) -> bool:
        """Commit the snapshot a child was writing, once it is complete; whether no save is pending any more."""
        with self._save_lock:
            return self._finish_save(wait=wait)

    def _finish_save(self, *, wait: bool) -> bool:
        if self._saving is None:
            self._shrink()
            return True
        pid, doc = self._saving
        done = snapshot_done(pid, wait=wait)
        if done is None:
            return False
        self._saving = None
        if done:
            self._commit(doc)
        elif self.directory is not None:
            # The last committed pair stays; the ledger holds everything after it. What the child
            # left is removed like any old file (it may be most of a gigabyte).
            self._removing += [self.directory / str(doc["features"]), self.directory / f"{doc['features']}.tmp"]
            self._shrink()
        return True

    def _commit(self, doc: dict[str, Any]) -> None:
        assert self.directory is not None
        write_atomically(self.directory / POSITION_FILE, json.dumps(doc).encode())
        # Snapshots no partition.json names any more: earlier saves, the file of a version-1
        # partition.json, and what a child of an earlier life left behind.
        for old in sorted(self.directory.glob("features*.snapshot*")):
            if old.name != doc["features"] and old not in self._removing:
                self._removing.append(old)
        self._shrink()

    def _shrink(self) -> None:
        # Unlinking a snapshot of a million cards frees 0.8 GB at once, and the filesystem's
        # journal holds every fsync meanwhile, the ledger's group commit too: a payment waited
        # about 90 ms (bench_snapshot_stall). A large file is cut by one step per tail round.
        while self._removing:
            path = self._removing[0]
            with contextlib.suppress(FileNotFoundError):
                size = path.stat().st_size
                if size > SHRINK_STEP:
                    os.truncate(path, size - SHRINK_STEP)
                    return
                path.unlink()
            self._removing.pop(0)

    def _counted_ahead(self) -> list[str]:
        # Payments in the windows whose entries the tail has not passed (or that are still being
        # appended): replay must not count them twice. Scoring order is almost index order, so the
        # scan stops after a run of payments already behind the position.
        ahead: list[str] = []
        behind = 0
        decided = self.service._decided
        for tx in reversed(self.service._seen):
            row = decided.get(tx)
            if row is None or row[-1] >= self.position:
                ahead.append(tx)
                behind = 0
            else:
                behind += 1
                if behind >= _AHEAD_SCAN_STOP:
                    break
        return ahead

    def restore(self) -> int:
        """Load the saved snapshot (if any, and made for this ring) and replay the ledger after it; entries read."""
        skip: frozenset[str] = frozenset()
        if self.directory is not None and (self.directory / POSITION_FILE).is_file():
            try:
                doc = json.loads((self.directory / POSITION_FILE).read_text(encoding="utf-8"))
                usable = (
                    doc.get("members") == self.ring.members and int(doc["ledger_position"]) <= self.service.ledger.size
                )
                if usable:
                    # A version-1 partition.json (before forked saves) went with features.snapshot.
                    name = doc.get("features", FEATURES_FILE)
                    snapshot = safe_child(self.directory, name, field="partition.features").read_bytes()
                    self.service.restore_state(snapshot, frozenset(str(c) for c in doc["frozen"]))
                    self.position = int(doc["ledger_position"])
                    skip = frozenset(str(tx) for tx in doc.get("ahead", []))
            except (OSError, ValueError, KeyError, TypeError, InputError) as exc:
                # The ledger holds everything: a bad snapshot costs a longer replay, not state.
                _log.warning("partition snapshot in %s not used (%s); replaying the whole ledger", self.directory, exc)
        read = self.catch_up(skip=skip)
        if self.index is not None:
            # Decisions before the snapshot are not in memory: a client's retry of one must still get
            # its recorded answer, not a second decision (the same lookback as the console's restart).
            self.service.recall_decisions(decisions_from_ledger(self.service.ledger))
        return read
