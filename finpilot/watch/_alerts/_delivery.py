"""Delivery: the outbox's due notifications go to their sinks; every outcome is logged and audited.

A tick hands the outbox to :meth:`Delivery.deliver`. Each due item is sent with the sink's few
immediate attempts (:func:`send_with_retry`); if it still fails it stays in the outbox with its
next attempt pushed out by capped exponential back-off, so a notification is never dropped. Each
outcome goes to the notification log and, as a ``watch.alert`` ``notify`` entry per alert, to the
audit ledger (the sink's name and type, never its URL).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any

from finpilot.audit import Entry
from finpilot.core import Backoff
from finpilot.watch._alerts._entries import alert_entry
from finpilot.watch._alerts._model import Alert
from finpilot.watch._alerts._sinks._interface import Notification, Sink, send_with_retry
from finpilot.watch._alerts._store import AlertStore
from finpilot.watch._errors import SinkDeliveryError


class Delivery:
    """Sends what the outbox holds, keeps what fails, and records every outcome."""

    def __init__(
        self,
        store: AlertStore,
        sinks: Mapping[str, Sink],
        *,
        record: Callable[[Entry], None],
        retry: Backoff,
        immediate: Backoff,
        sleep: Callable[[float], object] = time.sleep,
    ) -> None:
        self.store = store
        self.sinks = sinks
        self._record = record
        self._retry = retry
        self._immediate = immediate
        self.sleep = sleep

    def deliver(self, now: float) -> tuple[int, int]:
        """Try every due delivery in the outbox; returns (delivered, failed and kept for later)."""
        delivered = failed = 0
        for item in self.store.outbox(due_at=now):
            notification = Notification.from_json(item.notification)
            fingerprints = [a.fingerprint for a in notification.alerts]
            sink = self.sinks.get(item.sink)
            try:
                if sink is None:
                    raise SinkDeliveryError(
                        f"sink '{item.sink}' is no longer configured",
                        fix="declare it again under watch.alerts.sinks; the notification is kept",
                    )
                status, tries = send_with_retry(
                    sink, notification, backoff=self._immediate, sleep=self.sleep, clock=time.monotonic
                )
            except SinkDeliveryError as exc:
                failed += 1
                rounds = item.attempts + 1
                self.store.retry_later(item.id, rounds, now + self._retry.delay(rounds - 1), exc.message)
                outcome = {
                    "sink": item.sink,
                    "type": sink.type if sink is not None else "unknown",
                    "outcome": "retrying",
                    "attempts": exc.attempts,
                    "status_code": exc.status_code,
                    "error": exc.message,
                }
                self._log(item.sink, notification, fingerprints, outcome, now)
                continue
            assert sink is not None
            self.store.delivered(item.id)
            delivered += 1
            outcome = {"sink": item.sink, "type": sink.type, "outcome": "delivered", "attempts": tries}
            outcome["status_code"] = status
            self._log(item.sink, notification, fingerprints, outcome, now)
        return delivered, failed

    def _log(
        self, sink: str, notification: Notification, fingerprints: list[str], outcome: dict[str, Any], now: float
    ) -> None:
        self.store.log(
            at=now,
            sink=sink,
            group_key=notification.group_key,
            status=notification.status,
            fingerprints=fingerprints,
            outcome=str(outcome["outcome"]),
            attempts=int(outcome["attempts"]),
            error=outcome.get("error"),
        )
        if notification.test:
            return
        for alert in notification.alerts:
            self._record(
                alert_entry(
                    alert,
                    action="notify",
                    outcome=str(outcome["outcome"]),
                    at=now,
                    group=notification.group_key,
                    sinks=[outcome],
                )
            )

    def send_now(self, sink: Sink, alert: Alert, *, external_url: str, now: float) -> dict[str, Any]:
        """Send one alert to one sink at once, outside the outbox (a test alert); raises on failure."""
        notification = Notification(
            sink.name, "test", {"alertname": alert.name}, (alert,), external_url, now, test=True
        )
        status, tries = send_with_retry(
            sink, notification, backoff=self._immediate, sleep=self.sleep, clock=time.monotonic
        )
        self.store.log(
            at=now,
            sink=sink.name,
            group_key="test",
            status="firing",
            fingerprints=[alert.fingerprint],
            outcome="delivered",
            attempts=tries,
            error=None,
        )
        return {"sink": sink.name, "type": sink.type, "outcome": "delivered", "status_code": status, "attempts": tries}
