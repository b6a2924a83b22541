"""The pager runbooks use: a signed JSON POST to an optional webhook.

The receiver checks ``X-Finpilot-Signature: sha256=<hex>``, the HMAC-SHA256 of the raw body
under the shared secret: core's one webhook signer, the one fraud alerts use too. Each page
goes through a client from core's factory (:func:`~finpilot.core.http_client`; pages are rare,
and a client costs about 0.2 ms, so none is kept open between them). The secret is read through
the reference the config holds ({env: NAME} or {file: PATH}); neither the secret nor the URL's path or query
(which often carries a credential) reaches a log line, an audit entry or an error: only the
scheme and host do.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

import httpx

from finpilot.core import InputError, RunbookSettings, http_client, resolve_secret, signed_json


class Pager:
    """Delivers pages; with no webhook, :meth:`send` only reports that pages stay in the ledger."""

    def __init__(self, url: str | None = None, secret: bytes | None = None, *, timeout_s: float = 5.0) -> None:
        self.where: str | None = None
        if url is not None:
            parts = urlsplit(url)
            if parts.scheme not in ("http", "https") or not parts.hostname:
                raise InputError("the webhook URL must be an http(s) URL", field="runbooks.webhook_url")
            if not secret:
                raise InputError("the webhook secret is empty", field="runbooks.secret")
            self.where = f"{parts.scheme}://{parts.hostname}" + (f":{parts.port}" if parts.port else "")
        self._url = url
        self._secret = secret or b""
        self.timeout_s = timeout_s

    def __repr__(self) -> str:
        return f"Pager({self.where!r})"

    @classmethod
    def from_settings(cls, settings: RunbookSettings, environ: Mapping[str, str] | None = None) -> Pager:
        """The pager ``runbooks:`` describes; the secret comes from the reference ``runbooks.secret`` holds."""
        if settings.webhook_url is None or settings.secret is None:
            # The settings refuse a webhook without a secret, so this is the no-webhook pager.
            return cls(timeout_s=settings.timeout_s)
        secret = resolve_secret(settings.secret, field="runbooks.secret", environ=environ, hint="the shared secret")
        return cls(settings.webhook_url, secret, timeout_s=settings.timeout_s)

    def send(self, payload: Mapping[str, Any]) -> dict[str, Any]:
        """POST ``payload`` once; return what happened as audit-safe evidence (never raises)."""
        if self._url is None:
            return {"webhook": None, "delivered": False}
        body, headers = signed_json(self._secret, payload)
        try:
            with http_client(timeout_s=self.timeout_s, max_connections=1) as client:
                status = client.post(self._url, content=body, headers=headers).status_code
        except (httpx.HTTPError, httpx.InvalidURL, OSError) as exc:
            # The exception's text can quote the URL: keep only its type.
            return {"webhook": self.where, "delivered": False, "error": type(exc).__name__}
        return {"webhook": self.where, "delivered": 200 <= status < 300, "status": status}
