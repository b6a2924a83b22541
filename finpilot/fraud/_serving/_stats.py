"""Live fraud statistics for the console: the last hour in one-minute buckets, and the frozen accounts.

A :class:`FraudStats` is a :class:`DecisionObserver`. Buckets are keyed by the wall-clock
minute a decision was made (the payment's own time may be hours old in a replay), and
buckets older than the window are dropped as new ones open, so memory stays bounded.

A console that starts (or restarts) counts the window's earlier decisions from the ledger
(:func:`decisions_since`, :meth:`FraudStats.count_history`), each in the minute its entry was
written, whichever process made it; a decision told afterwards whose entry is below the ledger
size read then is not counted again.
"""

from __future__ import annotations

import re
import threading
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import orjson

from finpilot.audit import Ledger, is_system_entry
from finpilot.audit.kinds import FRAUD_DECISION
from finpilot.core import Clock, InputError, rfc3339, utc_now
from finpilot.fraud._payment import Payment
from finpilot.fraud._policy import FRAUD_ACTIONS, FraudDecision
from finpilot.fraud._scorer import Score
from finpilot.fraud._serving._persist import DECISION_LOOKBACK
from finpilot.fraud._serving._service import decision_of, decision_rows

_FIRST_NUMBER = re.compile(r"-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?")
_DECLINING = ("decline", "freeze_account")


def reason_family(reason: str) -> str:
    """A reason with its first number (the payment's own score or amount) replaced by ``…``.

    ``score 0.912 >= decline threshold 0.8`` and ``score 0.95 >= decline threshold 0.8`` are the
    same reason for the top-reasons table; the threshold is kept because it says which rule.
    """
    return _FIRST_NUMBER.sub("…", reason, count=1)


@dataclass
class _Bucket:
    actions: Counter[str] = field(default_factory=Counter)
    reasons: Counter[str] = field(default_factory=Counter)
    labels: Counter[str] = field(default_factory=Counter)


@dataclass
class _Model:
    decisions: int = 0
    first_seen: datetime | None = None
    last_seen: datetime | None = None


class FraudStats:
    """Decisions per minute by action, decline rate, top reasons, model versions, labels and frozen accounts.

    Thread-safe and cheap per call (a few counter increments under a lock).
    """

    def __init__(self, *, window_minutes: int = 60, clock: Clock = utc_now) -> None:
        if window_minutes < 1:
            raise InputError("the window must be at least one minute", field="window_minutes")
        self.window_minutes = window_minutes
        self._clock = clock
        self._lock = threading.Lock()
        self._buckets: dict[int, _Bucket] = {}
        self._models: dict[str, _Model] = {}
        self._frozen: dict[str, dict[str, Any]] = {}
        self._counted_to = 0  # decisions with a lower audit index were counted from the ledger

    def _minute(self) -> tuple[int, datetime]:
        now = self._clock()
        return int(now.timestamp() // 60), now

    def _bucket(self, minute: int) -> _Bucket:
        # Called with the lock held.
        bucket = self._buckets.get(minute)
        if bucket is None:
            bucket = self._buckets[minute] = _Bucket()
            oldest = minute - self.window_minutes
            for old in [m for m in self._buckets if m <= oldest]:
                del self._buckets[old]
        return bucket

    # -- DecisionObserver -------------------------------------------------------------------

    def on_decision(self, payment: Payment, verdict: Score, decision: FraudDecision, audit_index: int) -> None:
        """Count the decision, its reasons and its model version in this minute's bucket."""
        minute, now = self._minute()
        with self._lock:
            if audit_index < self._counted_to:
                return
            self._count(decision, minute, now)

    def _count(self, decision: FraudDecision, minute: int, when: datetime) -> None:
        # Called with the lock held.
        bucket = self._bucket(minute)
        bucket.actions[decision.action] += 1
        for reason in decision.reasons:
            bucket.reasons[reason_family(reason)] += 1
        model = self._models.get(decision.model_version)
        if model is None:
            model = self._models[decision.model_version] = _Model(first_seen=when, last_seen=when)
        model.decisions += 1
        model.first_seen = min(model.first_seen or when, when)
        model.last_seen = max(model.last_seen or when, when)

    def count_recent(self, ledger: Ledger, *, lookback: int = DECISION_LOOKBACK) -> int:
        """Count the window's decisions already in ``ledger`` (made by any process, before a restart too); how many.

        Meant for start-up, before the observer is told of new decisions: the ledger's size now
        is where counting from the ledger ends (:meth:`count_history`). The window is read among
        the newest ``lookback`` entries, so at a very high rate a restart shows less than the window.
        """
        end = ledger.size
        since = datetime.fromtimestamp((self._minute()[0] - self.window_minutes + 1) * 60, UTC)
        return self.count_history(decisions_since(ledger, since, end, lookback=lookback), end)

    def count_history(self, decisions: Iterable[tuple[datetime, FraudDecision]], end: int) -> int:
        """Count decisions made before this observer was attached, each in its own minute; how many counted.

        ``decisions`` are ``(time of the entry, decision)`` for the ``fraud.decision`` entries below
        ledger index ``end`` (:func:`decisions_since`). From now on a decision told with an audit
        index below ``end`` was counted here and is skipped. Those older than the window are skipped.
        """
        current, _ = self._minute()
        first = current - self.window_minutes + 1
        counted = 0
        with self._lock:
            self._counted_to = max(self._counted_to, end)
            for when, decision in decisions:
                minute = int(when.timestamp() // 60)
                if first <= minute <= current:
                    self._count(decision, minute, when)
                    counted += 1
        return counted

    def on_label(self, payment: Payment, fraud: bool, source: str, audit_index: int) -> None:
        """Count a late label (fraud or legitimate)."""
        minute, _ = self._minute()
        with self._lock:
            self._bucket(minute).labels["fraud" if fraud else "legitimate"] += 1

    def on_account(self, customer_id: str, action: str, reason: str, audit_index: int) -> None:
        """Track the frozen accounts."""
        _, now = self._minute()
        with self._lock:
            if action == "freeze":
                self._frozen[customer_id] = {
                    "customer_id": customer_id,
                    "since": rfc3339(now),
                    "reason": reason,
                    "audit_index": audit_index,
                }
            elif action == "unfreeze":
                self._frozen.pop(customer_id, None)

    # -- reading ----------------------------------------------------------------------------

    def frozen_accounts(self) -> list[dict[str, Any]]:
        """The accounts frozen now (as far as this observer saw), most recently frozen first."""
        with self._lock:
            return sorted(self._frozen.values(), key=lambda row: row["audit_index"], reverse=True)

    def summary(self, top: int = 10) -> dict[str, Any]:
        """Everything the Fraud page shows, JSON-able; ``per_minute`` has one row per minute, oldest first."""
        current, now = self._minute()
        first = current - self.window_minutes + 1
        with self._lock:
            buckets = {m: b for m, b in self._buckets.items() if m >= first}
            per_minute = []
            actions: Counter[str] = Counter()
            reasons: Counter[str] = Counter()
            labels: Counter[str] = Counter()
            for minute in range(first, current + 1):
                bucket = buckets.get(minute, _Bucket())
                actions.update(bucket.actions)
                reasons.update(bucket.reasons)
                labels.update(bucket.labels)
                row: dict[str, Any] = {"minute": rfc3339(datetime.fromtimestamp(minute * 60, UTC))}
                row.update({action: bucket.actions[action] for action in FRAUD_ACTIONS})
                row["total"] = sum(bucket.actions.values())
                per_minute.append(row)
            models = [
                {
                    "version": version,
                    "decisions": model.decisions,
                    "first_seen": rfc3339(model.first_seen) if model.first_seen else None,
                    "last_seen": rfc3339(model.last_seen) if model.last_seen else None,
                }
                for version, model in sorted(
                    self._models.items(), key=lambda item: item[1].last_seen or now, reverse=True
                )
            ]
        total = sum(actions.values())
        declined = sum(actions[a] for a in _DECLINING)
        return {
            "now": rfc3339(now),
            "window_minutes": self.window_minutes,
            "decisions": total,
            "by_action": {action: actions[action] for action in FRAUD_ACTIONS},
            "decisions_per_minute": round(total / self.window_minutes, 3),
            "last_minute": per_minute[-1]["total"],
            "decline_rate": round(declined / total, 4) if total else None,
            "top_reasons": [{"reason": r, "count": c} for r, c in reasons.most_common(top)],
            "labels": {"fraud": labels["fraud"], "legitimate": labels["legitimate"]},
            "model_versions": models,
            "frozen_accounts": self.frozen_accounts(),
            "per_minute": per_minute,
        }


_PAGE = 5_000
_DECISION = b'"' + FRAUD_DECISION.name.encode() + b'"'
_TIME_AT = b',"time":"'


def decisions_since(
    ledger: Ledger, since: datetime, end: int, *, lookback: int = DECISION_LOOKBACK
) -> list[tuple[datetime, FraudDecision]]:
    """The ``fraud.decision`` entries below index ``end`` written at ``since`` or later, oldest first.

    Read backwards from ``end`` among at most ``lookback`` entries (the bound the restarted
    service uses), stopping at the first page that starts before ``since``. Only the decisions
    are parsed: an entry's time is compared as text (every stamp is RFC 3339 UTC of one width).
    """
    floor = rfc3339(since).encode()
    stop = max(0, end - max(lookback, 0))
    found: list[tuple[datetime, FraudDecision]] = []
    position = end
    while position > stop:
        start = max(stop, position - _PAGE)
        rows = ledger.store.entries(start, position)
        for _index, data in reversed(rows):
            if _DECISION in data and _time_of(data) >= floor:
                decision = _decision_of(data)
                if decision is not None:
                    found.append(decision)
        if rows and _time_of(rows[0][1]) < floor:
            break
        position = start
    found.reverse()
    return found


def _time_of(data: bytes) -> bytes:
    # Keys are sorted, so the last ',"time":"' is the entry's own (a quote in a string is escaped).
    at = data.rfind(_TIME_AT) + len(_TIME_AT)
    return data[at : data.find(b'"', at)]


def _decision_of(data: bytes) -> tuple[datetime, FraudDecision] | None:
    try:
        fields = orjson.loads(data)
        if fields.get("kind") != FRAUD_DECISION.name or not is_system_entry(fields):
            return None
        _, row = decision_rows(0, fields)
        return datetime.fromisoformat(str(fields["time"])), decision_of(row)
    except (KeyError, TypeError, ValueError):
        return None
