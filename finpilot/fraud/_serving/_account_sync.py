"""Freezes made by the fraud engine, carried over to the payments service so that a frozen account cannot pay.

The fraud engine freezes an account on a ``freeze_account`` decision, or when an analyst asks.
:class:`AccountSync` is a :class:`~finpilot.fraud._serving._service.DecisionObserver` that passes each freeze and
unfreeze on to the payments side through a callable: in-process, one that calls the payments
service's library; remotely, :func:`http_account_sync`, which uses its public HTTP API. The
payments service never imports finpilot either way.

Each change carries an idempotency key derived from its audit index, so a retried or repeated
change is applied once. The ``fraud.account`` entry is in the ledger before the observer runs;
a failure to reach the payments side is logged (by the service) and does not undo the freeze.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from urllib.parse import quote

import httpx

from finpilot.core import SecretRef, StorageError, http_client, resolve_secret
from finpilot.fraud._payment import Payment
from finpilot.fraud._policy import FraudDecision
from finpilot.fraud._scorer import Score

_log = logging.getLogger("finpilot.fraud")

SetFrozen = Callable[[str, bool, str], None]
"""``(account_id, frozen, idempotency_key) -> None``: freeze or unfreeze one account on the payments side."""


class AccountSync:
    """Passes the fraud engine's freezes and unfreezes to the payments service."""

    def __init__(self, set_frozen: SetFrozen) -> None:
        self._set_frozen = set_frozen

    def on_decision(self, payment: Payment, verdict: Score, decision: FraudDecision, audit_index: int) -> None:
        """Nothing: a freezing decision also arrives as an account change."""

    def on_label(self, payment: Payment, fraud: bool, source: str, audit_index: int) -> None:
        """Nothing: labels do not change accounts."""

    def on_account(self, customer_id: str, action: str, reason: str, audit_index: int) -> None:
        """Freeze or unfreeze ``customer_id`` on the payments side."""
        if action not in {"freeze", "unfreeze"}:
            return
        self._set_frozen(customer_id, action == "freeze", f"finpilot-account-{audit_index}")


class HttpAccountSync:
    """A :data:`SetFrozen` over the payments API: ``POST {url}/v1/accounts/{id}/freeze`` (or ``unfreeze``).

    An account the payments service does not know (404) is skipped: the fraud engine also
    scores payments from elsewhere. Any other failure raises :class:`StorageError`. Close it
    when done (it holds a connection pool). ``token`` is the payments API token by reference (it
    needs the ``accounts:write`` scope), resolved once here and sent as a bearer token.
    """

    def __init__(
        self,
        url: str,
        *,
        timeout_s: float = 2.0,
        transport: httpx.BaseTransport | None = None,
        token: SecretRef | None = None,
    ) -> None:
        headers = {}
        if token is not None:
            secret = resolve_secret(token, field="payments_token", hint="a payments API token").decode()
            headers["Authorization"] = f"Bearer {secret}"
        self._client = http_client(base_url=url.rstrip("/"), timeout_s=timeout_s, transport=transport, headers=headers)

    def __call__(self, account_id: str, frozen: bool, key: str) -> None:
        """Freeze or unfreeze ``account_id`` with the idempotency key ``key``."""
        verb = "freeze" if frozen else "unfreeze"
        try:
            response = self._client.post(
                f"/v1/accounts/{quote(account_id, safe='')}/{verb}", headers={"Idempotency-Key": key}
            )
        except httpx.HTTPError as exc:
            raise StorageError(
                f"cannot reach the payments service to {verb} an account ({type(exc).__name__})",
                field="payments_url",
                fix="check that the payments service is up",
            ) from None
        if response.status_code == 404:
            _log.info("account %s is not a payments account; nothing to %s", account_id, verb)
            return
        if response.status_code != 200:
            raise StorageError(
                f"the payments service answered HTTP {response.status_code} to an account {verb}",
                field="payments_url",
            )

    def close(self) -> None:
        """Close the connection pool."""
        self._client.close()
