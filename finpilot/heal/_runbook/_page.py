"""The pager runbooks use: a signed JSON POST to an optional webhook.

The receiver checks ``X-Finpilot-Signature: sha256=<hex>``, the HMAC-SHA256 of the raw body
under the shared secret (the same scheme as fraud alerts, written here because the heal
capability does not import the fraud one). The secret is read through the reference the
config holds ({env: NAME} or {file: PATH}); neither the secret nor the URL's path or query
(which often carries a credential) reaches a log line, an audit entry or an error: only the
scheme and host do.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import urllib.error
import urllib.request
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from finpilot.core import InputError, RunbookSettings, resolve_secret

SIGNATURE_HEADER = "X-Finpilot-Signature"
"""The header carrying ``sha256=<hex HMAC-SHA256 of the body>``."""


def page_signature(secret: bytes, body: bytes) -> str:
    """The signature header's value for ``body``: ``sha256=<hex>``."""
    return "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()


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
        body = json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str).encode()
        request = urllib.request.Request(  # noqa: S310 - the scheme is checked to be http(s) above
            self._url,
            data=body,
            method="POST",
            headers={"Content-Type": "application/json", SIGNATURE_HEADER: page_signature(self._secret, body)},
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout_s) as response:  # noqa: S310 - see above
                status = int(response.status)
        except urllib.error.HTTPError as exc:
            status = int(exc.code)
        except (OSError, ValueError) as exc:
            # The exception's text can quote the URL: keep only its type.
            return {"webhook": self.where, "delivered": False, "error": type(exc).__name__}
        return {"webhook": self.where, "delivered": 200 <= status < 300, "status": status}
