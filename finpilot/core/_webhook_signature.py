"""The one webhook signer: ``X-Finpilot-Signature: sha256=<hex HMAC-SHA256 of the raw body>``.

Fraud alerts and runbook pages both POST signed JSON. A receiver recomputes the HMAC over the
exact bytes it received, under the secret it shares with finpilot, and compares in constant time
(:func:`webhook_signature_ok`). :func:`signed_json` makes the body (compact, sorted keys, so the
same payload is the same bytes) and the headers that go with it.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping
from typing import Any

SIGNATURE_HEADER = "X-Finpilot-Signature"
"""The header carrying ``sha256=<hex HMAC-SHA256 of the body>``."""


def webhook_signature(secret: bytes, body: bytes) -> str:
    """The signature header's value for ``body``: ``sha256=<hex>``."""
    return "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()


def webhook_signature_ok(secret: bytes, body: bytes, header: str) -> bool:
    """Whether ``header`` is the signature of ``body`` under ``secret`` (constant-time comparison)."""
    return hmac.compare_digest(webhook_signature(secret, body), header)


def signed_json(secret: bytes, payload: Mapping[str, Any]) -> tuple[bytes, dict[str, str]]:
    """``payload`` as compact JSON with sorted keys, and its ``Content-Type`` and signature headers."""
    body = json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str).encode()
    return body, {"Content-Type": "application/json", SIGNATURE_HEADER: webhook_signature(secret, body)}
