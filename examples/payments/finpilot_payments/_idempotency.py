"""Idempotency keys: the same key and request give the same response, and post nothing twice.

The key and the request are remembered only as HMAC-SHA256 digests under a random secret kept
in the database (a plain hash of a body holding a card number could be brute-forced back to it,
and a careless client might even use a card number as its key). The
response is stored with it, in the transaction that made the change, so a key is either spent
with its effect or not at all. Refusals that changed nothing (bad input, insufficient funds)
are not stored: a retry with the same key may succeed once the cause is fixed. A declined
authorization is stored, because it is recorded.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from finpilot_payments._db import Tx
from finpilot_payments._errors import IdempotencyConflictError, InputError

MAX_KEY_LENGTH = 255


@dataclass(frozen=True)
class Outcome:
    """A response to a mutating call: status and JSON body; ``replayed`` when it came from the key store."""

    status: int
    body: dict[str, Any]
    replayed: bool = False
    decision: str | None = field(default=None, compare=False)


def check_key(key: str | None) -> str:
    """The key, or :class:`InputError` naming the ``Idempotency-Key`` header."""
    if key is None or not key.strip():
        raise InputError(
            "the Idempotency-Key header is required on every mutating call",
            field="Idempotency-Key",
            fix="send a unique key (e.g. a UUID) per intended operation, and the same key on retries",
        )
    if len(key) > MAX_KEY_LENGTH or not key.isascii() or not key.isprintable():
        raise InputError(
            f"the Idempotency-Key header must be 1 to {MAX_KEY_LENGTH} printable ASCII characters",
            field="Idempotency-Key",
        )
    return key


def load_secret(tx: Tx) -> bytes:
    """The database's fingerprint secret, created on first use."""
    tx.run(
        "INSERT INTO meta (name, value) VALUES ('idempotency_secret', ?) ON CONFLICT DO NOTHING",
        (secrets.token_hex(32),),
    )
    row = tx.one("SELECT value FROM meta WHERE name = 'idempotency_secret'")
    assert row is not None
    return bytes.fromhex(row[0])


def fingerprint(secret: bytes, operation: str, request: Mapping[str, Any]) -> str:
    """An HMAC of the operation and its canonical JSON request."""
    canonical = json.dumps([operation, request], sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hmac.new(secret, canonical.encode(), hashlib.sha256).hexdigest()


def key_digest(secret: bytes, key: str) -> str:
    """What is stored of an idempotency key: its HMAC."""
    return hmac.new(secret, b"key:" + key.encode(), hashlib.sha256).hexdigest()


def lookup(tx: Tx, digest: str, print_: str) -> Outcome | None:
    """The stored outcome for a key (its :func:`key_digest`).

    Raises :class:`IdempotencyConflictError` when the key was used for another request.
    """
    row = tx.one("SELECT fingerprint, status, body FROM idempotency WHERE key = ?", (digest,))
    if row is None:
        return None
    if not hmac.compare_digest(row[0], print_):
        raise IdempotencyConflictError(
            "this Idempotency-Key was already used with a different request; nothing was changed",
            field="Idempotency-Key",
            fix="use a new key for a new operation, or resend exactly the original request",
        )
    return Outcome(status=int(row[1]), body=json.loads(row[2]), replayed=True)


def remember(tx: Tx, digest: str, print_: str, outcome: Outcome, now: str) -> None:
    """Store ``outcome`` under a key's digest, in the caller's transaction."""
    tx.run(
        "INSERT INTO idempotency (key, fingerprint, status, body, created_at) VALUES (?, ?, ?, ?, ?)",
        (digest, print_, outcome.status, json.dumps(outcome.body, sort_keys=True), now),
    )
