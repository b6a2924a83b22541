"""The Alertmanager sink: POST ``/api/v2/alerts`` to a real Alertmanager.

Each alert goes with its labels, annotations, ``startsAt``, ``generatorURL`` (the link to the
series and window in the console) and ``endsAt``: for a resolved alert, when it resolved; for a
firing one, the time by which its group will have notified again (now + repeat interval + group
interval), as Prometheus does. Alertmanager then keeps it active between our repeats, and still
resolves it by itself if finpilot stops sending (a crashed manager does not pin an alert forever).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

import httpx

from finpilot.core import http_client
from finpilot.watch._alerts._sinks._interface import Notification, post
from finpilot.watch._alerts._sinks._payload import stamp


@dataclass
class AlertmanagerSink:
    """Posts the notification's alerts to an Alertmanager at ``url`` (its base URL)."""

    type: ClassVar[str] = "alertmanager"
    name: str
    url: str = field(repr=False)
    timeout_s: float = 5.0
    attempts: int = 3
    client: httpx.Client | None = field(default=None, repr=False)

    def send(self, notification: Notification) -> int:
        """Deliver once (see :class:`~finpilot.watch.Sink`)."""
        body: list[dict[str, Any]] = []
        for alert in notification.alerts:
            item: dict[str, Any] = {
                "labels": dict(alert.labels),
                "annotations": {k: v for k, v in alert.annotations.items() if v},
                "startsAt": stamp(alert.fired_at or alert.active_since),
                "generatorURL": alert.link,
            }
            if alert.state == "resolved" and alert.resolved_at is not None:
                item["endsAt"] = stamp(alert.resolved_at)
            elif notification.hold_s is not None:
                item["endsAt"] = stamp(notification.sent_at + notification.hold_s)
            body.append(item)
        client = self.client or http_client(timeout_s=self.timeout_s)
        try:
            return post(
                client, self.url.rstrip("/") + "/api/v2/alerts", what=f"Alertmanager sink '{self.name}'", json=body
            )
        finally:
            if self.client is None:
                client.close()
