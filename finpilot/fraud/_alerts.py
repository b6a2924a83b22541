"""Fraud alerts: raised on declines, freezes and drift, deduplicated per account, audited, sent to sinks.

::

    decision decline / freeze_account ─┐
    account frozen ────────────────────┼─> AlertManager ─> fraud.alert entry ─> sinks (webhook, ...)
    drift monitor: raise_alert(...) ───┘        │
                                                └─> recent alerts (the console's Fraud page)

An account raises at most one alert per window (``dedup_window_s`` from the alert's first
event); repeats inside the window are counted on that open alert instead of raised again,
unless they are more severe (a freeze after a decline is worth a second message). Unfreezing
an account closes its open alert. Alerts without an account (drift) are deduplicated per kind.

Every raised alert is one ``fraud.alert`` entry, appended before any sink sees it; a
suppressed repeat writes nothing. Sinks must not block: :class:`~finpilot.fraud.WebhookSink`
queues and sends on a thread of its own.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal, Protocol, get_args

from finpilot.audit import Ledger
from finpilot.audit.kinds import FRAUD_ALERT
from finpilot.core import Clock, InputError, rfc3339, utc_now
from finpilot.fraud._payment import Payment
from finpilot.fraud._policy import FraudDecision
from finpilot.fraud._scorer import Score

_log = logging.getLogger("finpilot.fraud.alerts")

ALERT_ACTOR = "fraud-alerts"
"""Who the ledger says raised an alert."""

Severity = Literal["info", "warning", "critical"]
"""How urgent an alert is."""

SEVERITIES: tuple[Severity, ...] = get_args(Severity)
"""Every severity, mildest first."""


@dataclass(frozen=True)
class Alert:
    """One raised alert: what happened, to which account, how bad, why, and where it is in the ledger."""

    alert_id: str
    kind: str
    account: str | None
    severity: Severity
    reasons: tuple[str, ...]
    evidence: Mapping[str, Any]
    time: datetime
    audit_index: int

    def to_json(self) -> dict[str, Any]:
        """The JSON form, as the webhook receives it."""
        return {
            "alert_id": self.alert_id,
            "kind": self.kind,
            "account": self.account,
            "severity": self.severity,
            "reasons": list(self.reasons),
            "evidence": dict(self.evidence),
            "time": rfc3339(self.time),
            "audit_index": self.audit_index,
        }


class AlertSink(Protocol):
    """Where raised alerts go. ``send`` is called on the scoring thread, so it must return at once."""

    def send(self, alert: Alert) -> None:
        """Hand one alert over (queue it); never block and never raise for a delivery problem."""
        ...

    def stats(self) -> dict[str, int]:
        """Delivery counters for the console (sent, failed, dropped...)."""
        ...


@dataclass(eq=False)
class _Open:
    # The open alert of one dedup key. `alert` is None while its ledger entry is being written.
    key: str
    severity: Severity
    started: datetime
    last_seen: datetime
    alert: Alert | None = None
    repeats: int = 0
    closed: bool = False


def _rank(severity: Severity) -> int:
    return SEVERITIES.index(severity)


class AlertManager:
    """Raises, deduplicates, audits and dispatches fraud alerts; a :class:`DecisionObserver` of the service.

    ``raise_alert`` is what other monitors call (a drift monitor's ``on_alert(kind, evidence)``).
    Thread-safe: the dedup state has its own lock, and the ledger append happens outside it.
    """

    def __init__(
        self,
        ledger: Ledger,
        sinks: Sequence[AlertSink] = (),
        *,
        dedup_window_s: float = 600.0,
        keep: int = 100,
        clock: Clock = utc_now,
    ) -> None:
        if not dedup_window_s > 0:
            raise InputError("the dedup window must be positive", field="dedup_window_s")
        if keep < 1:
            raise InputError("keep must be at least 1", field="keep")
        self.ledger = ledger
        self.sinks = tuple(sinks)
        self.window = timedelta(seconds=dedup_window_s)
        self._clock = clock
        self._lock = threading.Lock()
        self._open: dict[str, _Open] = {}
        self._recent: deque[_Open] = deque(maxlen=keep)
        self._raised = 0
        self._suppressed = 0

    # -- DecisionObserver -------------------------------------------------------------------

    def on_decision(self, payment: Payment, verdict: Score, decision: FraudDecision, audit_index: int) -> None:
        """Alert on a decline (warning) or a freeze decision (critical)."""
        if decision.action not in ("decline", "freeze_account"):
            return
        severity: Severity = "critical" if decision.action == "freeze_account" else "warning"
        evidence = {
            "customer_id": payment.customer,
            "transaction_id": payment.tx_id,
            "decision": decision.action,
            "score": decision.score,
            "model_version": decision.model_version,
            "decision_index": audit_index,
        }
        self.raise_alert(decision.action, evidence, payment.customer, severity=severity, reasons=decision.reasons)

    def on_label(self, payment: Payment, fraud: bool, source: str, audit_index: int) -> None:
        """Labels raise nothing: they confirm or refute what was already alerted."""

    def on_account(self, customer_id: str, action: str, reason: str, audit_index: int) -> None:
        """A freeze raises a critical alert; an unfreeze closes the account's open alert."""
        if action == "freeze":
            evidence = {"customer_id": customer_id, "reason": reason, "account_index": audit_index}
            self.raise_alert("account_frozen", evidence, customer_id, severity="critical", reasons=(reason,))
        elif action == "unfreeze":
            with self._lock:
                found = self._open.pop(customer_id, None)
                if found is not None:
                    found.closed = True

    # -- raising ----------------------------------------------------------------------------

    def raise_alert(
        self,
        kind: str,
        evidence: Mapping[str, Any],
        account: str | None = None,
        *,
        severity: Severity = "warning",
        reasons: Sequence[str] = (),
    ) -> Alert | None:
        """Raise an alert, or count it on the open one for the same account (or kind); the new alert or None.

        The ``fraud.alert`` entry is in the ledger before any sink is told. A ledger error (or an
        alert kind or evidence the ``fraud.alert`` kind does not declare) propagates and leaves no
        open alert behind, so the next event tries again.
        """
        if not isinstance(kind, str) or not kind:
            raise InputError("an alert needs a kind", field="kind")
        if severity not in SEVERITIES:
            raise InputError(f"severity must be one of {', '.join(SEVERITIES)}", field="severity")
        key = account if account is not None else f"kind:{kind}"
        now = self._clock()
        with self._lock:
            current = self._open.get(key)
            if (
                current is not None
                and now - current.started < self.window
                and _rank(severity) <= _rank(current.severity)
            ):
                current.repeats += 1
                current.last_seen = now
                self._suppressed += 1
                return None
            slot = _Open(key=key, severity=severity, started=now, last_seen=now)
            self._open[key] = slot
            self._raised += 1
        alert_id = uuid.uuid4().hex
        try:
            # Built inside the try: an alert its kind refuses (an undeclared alert kind, evidence
            # that does not fit) must not leave an open alert behind either.
            entry = FRAUD_ALERT.entry(
                actor=ALERT_ACTOR,
                action=kind,
                subject=f"account:{account}" if account is not None else "fraud",
                outcome=severity,
                evidence={**evidence, "alert_id": alert_id, "reasons": list(reasons)},
            )
            index = self.ledger.append(entry)
        except BaseException:
            with self._lock:
                if self._open.get(key) is slot:
                    del self._open[key]
                self._raised -= 1
            raise
        alert = Alert(alert_id, kind, account, severity, tuple(reasons), dict(evidence), now, index)
        with self._lock:
            slot.alert = alert
            self._recent.appendleft(slot)
        for sink in self.sinks:
            try:
                sink.send(alert)
            except Exception:  # a sink's bug must not fail the payment that raised the alert
                _log.exception("alert sink %s failed", type(sink).__name__)
        return alert

    # -- reading ----------------------------------------------------------------------------

    def recent(self) -> list[dict[str, Any]]:
        """The latest alerts, newest first, each with its suppressed repeats and whether it is still open."""
        now = self._clock()
        with self._lock:
            rows = []
            for slot in self._recent:
                assert slot.alert is not None
                is_open = not slot.closed and self._open.get(slot.key) is slot and now - slot.started < self.window
                rows.append(
                    {
                        **slot.alert.to_json(),
                        "repeats": slot.repeats,
                        "last_seen": rfc3339(slot.last_seen),
                        "open": is_open,
                    }
                )
            return rows

    def summary(self) -> dict[str, Any]:
        """Counters and the recent alerts, JSON-able."""
        recent = self.recent()
        with self._lock:
            raised, suppressed = self._raised, self._suppressed
        return {
            "raised": raised,
            "suppressed": suppressed,
            "open": sum(1 for row in recent if row["open"]),
            "dedup_window_s": self.window.total_seconds(),
            "sinks": {type(sink).__name__: sink.stats() for sink in self.sinks},
            "recent": recent,
        }

    def close(self) -> None:
        """Close every sink that can be closed (a webhook sink drains its queue first)."""
        for sink in self.sinks:
            closer = getattr(sink, "close", None)
            if callable(closer):
                closer()
