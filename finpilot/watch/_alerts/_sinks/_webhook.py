"""The plain webhook sink: Alertmanager's webhook JSON, optionally signed with HMAC-SHA256."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import ClassVar

import httpx

from finpilot.core import http_client, signed_json
from finpilot.watch._alerts._sinks._interface import Notification, post
from finpilot.watch._alerts._sinks._payload import webhook_payload


@dataclass
class WebhookSink:
    """POSTs each notification as JSON; with a ``secret``, adds ``X-Finpilot-Signature: sha256=<hex>``."""

    type: ClassVar[str] = "webhook"
    name: str
    url: str = field(repr=False)
    secret: bytes | None = field(default=None, repr=False)
    timeout_s: float = 5.0
    attempts: int = 3
    client: httpx.Client | None = field(default=None, repr=False)

    def send(self, notification: Notification) -> int:
        """Deliver once (see :class:`~finpilot.watch.Sink`)."""
        payload = webhook_payload(notification)
        if self.secret is not None:
            body, headers = signed_json(self.secret, payload)
        else:
            body = json.dumps(payload, sort_keys=True, separators=(",", ":")).encode()
            headers = {"Content-Type": "application/json"}
        client = self.client or http_client(timeout_s=self.timeout_s)
        try:
            return post(client, self.url, what=f"webhook sink '{self.name}'", content=body, headers=headers)
        finally:
            if self.client is None:
                client.close()
