"""The Slack incoming-webhook sink: a one-line ``text`` (notifications, fallbacks) and Block Kit ``blocks``."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

import httpx

from finpilot.core import http_client
from finpilot.watch._alerts._model import Alert
from finpilot.watch._alerts._sinks._interface import Notification, post
from finpilot.watch._alerts._sinks._payload import stamp

_ICON = {"critical": ":red_circle:", "warning": ":large_orange_circle:", "info": ":large_blue_circle:"}
_MAX_BLOCKS = 45  # Slack takes at most 50 blocks per message; leave room for the header and a note.


def slack_payload(notification: Notification) -> dict[str, Any]:
    """The message body: text plus blocks, one section per alert."""
    firing = [a for a in notification.alerts if a.state == "firing"]
    resolved = [a for a in notification.alerts if a.state != "firing"]
    name = notification.group_labels.get("alertname") or notification.common_labels().get("alertname", "alerts")
    status = "FIRING" if firing else "RESOLVED"
    text = f"[{status}:{len(firing) or len(resolved)}] {name}"
    blocks: list[dict[str, Any]] = [{"type": "header", "text": {"type": "plain_text", "text": text[:150]}}]
    shown = notification.alerts[:_MAX_BLOCKS]
    blocks.extend(_section(alert) for alert in shown)
    if len(notification.alerts) > len(shown):
        more = len(notification.alerts) - len(shown)
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": f"and {more} more"}]})
    return {"text": text, "blocks": blocks}


def _section(alert: Alert) -> dict[str, Any]:
    icon = _ICON.get(alert.severity, "") if alert.state == "firing" else ":white_check_mark:"
    summary = alert.annotations.get("summary") or alert.annotations.get("description") or alert.name
    lines = [f"{icon} *{alert.name}* ({alert.severity}) {summary}", f"`{alert.series}`"]
    if alert.value is not None:
        lines.append(
            f"value {alert.value:.4g}" + (f", limit {alert.threshold:.4g}" if alert.threshold is not None else "")
        )
    if alert.breach_expected_at is not None:
        lines.append(f"breach expected at {stamp(alert.breach_expected_at)}")
    if alert.link:
        lines.append(f"<{alert.link}|series and window>")
    return {"type": "section", "text": {"type": "mrkdwn", "text": "\n".join(lines)[:3000]}}


@dataclass
class SlackSink:
    """Posts to a Slack incoming webhook (the URL is the credential: give it by reference)."""

    type: ClassVar[str] = "slack"
    name: str
    url: str = field(repr=False)
    timeout_s: float = 5.0
    attempts: int = 3
    client: httpx.Client | None = field(default=None, repr=False)

    def send(self, notification: Notification) -> int:
        """Deliver once (see :class:`~finpilot.watch.Sink`)."""
        client = self.client or http_client(timeout_s=self.timeout_s)
        try:
            return post(client, self.url, what=f"Slack sink '{self.name}'", json=slack_payload(notification))
        finally:
            if self.client is None:
                client.close()
