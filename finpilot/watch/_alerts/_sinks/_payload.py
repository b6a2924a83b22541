"""Alertmanager's webhook payload (version "4"), with finpilot's extra fields on each alert.

Receivers written for Alertmanager read it as they are; each alert also carries ``series``,
``window`` ``{start, end}`` (RFC 3339), ``link`` (the console page of that series and window),
``value``, ``threshold``, ``score`` and, for proactive alerts, ``breach_expected_at``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from finpilot.core import rfc3339
from finpilot.watch._alerts._model import Alert
from finpilot.watch._alerts._sinks._interface import Notification

ZERO_TIME = "0001-01-01T00:00:00Z"
"""Alertmanager's "no end yet" time."""


def stamp(seconds: float | None) -> str | None:
    """Unix seconds as RFC 3339 UTC, or None."""
    return None if seconds is None else rfc3339(datetime.fromtimestamp(seconds, UTC))


def alert_payload(alert: Alert) -> dict[str, Any]:
    """One alert as the webhook sends it."""
    return {
        "status": "firing" if alert.state == "firing" else "resolved",
        "labels": dict(alert.labels),
        "annotations": dict(alert.annotations),
        "startsAt": stamp(alert.fired_at or alert.active_since),
        "endsAt": stamp(alert.resolved_at) or ZERO_TIME,
        "generatorURL": alert.link,
        "fingerprint": alert.fingerprint,
        "series": alert.series,
        "window": {"start": stamp(alert.window_start), "end": stamp(alert.window_end)},
        "link": alert.link,
        "value": alert.value,
        "threshold": alert.threshold,
        "score": alert.score,
        "breach_expected_at": stamp(alert.breach_expected_at),
    }


def webhook_payload(notification: Notification) -> dict[str, Any]:
    """The whole webhook body."""
    return {
        "version": "4",
        "groupKey": notification.group_key,
        "truncatedAlerts": 0,
        "status": notification.status,
        "receiver": notification.receiver,
        "groupLabels": dict(notification.group_labels),
        "commonLabels": notification.common_labels(),
        "commonAnnotations": notification.common_annotations(),
        "externalURL": notification.external_url,
        "alerts": [alert_payload(a) for a in notification.alerts],
    }
