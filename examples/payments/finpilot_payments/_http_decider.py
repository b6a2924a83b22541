"""Decisions over HTTP: ``POST {url}/api/v1/fraud/scores`` (finpilot's fraud API) with a timeout and a failure policy.

The request is the body finpilot's ``/api/v1/fraud/scores`` takes::

    {"transaction_id": payment_id, "customer_id": account_id, "terminal_id": merchant_id,
     "amount": amount in major units, "time": RFC 3339}

The amount is converted exactly from integer minor units with the currency's ISO 4217
exponent (``1234`` EUR cents is ``12.34``, ``1234`` JPY is ``1234``). With a token, the request
carries ``Authorization: Bearer <token>`` (a finpilot token whose role may score); the token is
never logged. No card data is sent: the decision service sees the account, not the card.

The answer's ``decision`` is ``approve``, ``review``, ``decline`` or ``freeze_account``; the last is
a decline that also freezes the paying account here (:attr:`Decision.freeze_account`). A body
with ``action`` instead of ``decision`` (this service's own shape) is read too.

When the decision service **refuses** the request (any status that is neither 2xx nor 5xx: a
4xx such as 422 for an amount it does not take or 401 for a wrong token, or a 3xx, as redirects
are never followed), the payment is **declined** with the reason ``decider refused the request
(HTTP <status>)``, whatever the failure policy: the service has looked at this payment and
said no, which is not an outage, and approving it would let any request the service rejects
through unscored.

When the decision service is **unavailable** (it cannot be reached, times out, answers 5xx, or
answers 2xx with a body that is not a decision, a fault of the service rather than of this
request), the failure policy applies:

- fail-closed (``fail_open=False``, the default): the payment is **declined** with the reason
  ``decider unavailable (fail-closed)``. No payment is approved without a decision.
- fail-open (``fail_open=True``): the payment is **approved** with the reason
  ``decider unavailable (fail-open)``.

Either way an undecided payment carries the model version ``unavailable``, so the
authorizations approved or declined unseen can be found and reviewed afterwards.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import httpx

from finpilot_payments._currency import currency_exponent
from finpilot_payments._decision import ACTIONS, Action, Decision, PaymentContext

_log = logging.getLogger("finpilot_payments.decider")


def major_units(amount: int, currency: str) -> float:
    """``amount`` minor units as a number of major units, e.g. ``1234`` EUR -> ``12.34``.

    The division is done in decimal, so the result is the double nearest the exact value, and
    JSON writes that double as the exact decimal for any amount below 2**53 minor units.
    """
    return float(Decimal(amount).scaleb(-currency_exponent(currency)))


def rfc3339(time: str) -> str:
    """The payment time as RFC 3339 in UTC (``...Z``); naive times are taken as UTC."""
    moment = datetime.fromisoformat(time)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def score_request(payment: PaymentContext) -> dict[str, object]:
    """The ``/api/v1/fraud/scores`` body for ``payment``."""
    return {
        "transaction_id": payment.payment_id,
        "customer_id": payment.account_id,
        "terminal_id": payment.merchant_id,
        "amount": major_units(payment.amount, payment.currency),
        "time": rfc3339(payment.time),
    }


class DeciderResponseError(Exception):
    """The decision service answered something that is not a decision."""


def parse_decision(body: Any) -> Decision:
    """A :class:`Decision` from a decision service's JSON body; raises :class:`DeciderResponseError`."""
    if not isinstance(body, dict):
        raise DeciderResponseError("the body is not a JSON object")
    action = body.get("decision", body.get("action"))
    freeze = action == "freeze_account"
    if freeze:
        action = "decline"
    if action not in ACTIONS:
        raise DeciderResponseError("'decision' must be approve, review, decline or freeze_account")
    reasons = body.get("reasons", [])
    if not isinstance(reasons, list) or not all(isinstance(r, str) for r in reasons):
        raise DeciderResponseError("'reasons' must be a list of strings")
    score = body.get("score", 0.0)
    if isinstance(score, bool) or not isinstance(score, int | float):
        raise DeciderResponseError("'score' must be a number")
    model_version = body.get("model_version", "unknown")
    audit_index = body.get("audit_index")
    if not isinstance(model_version, str) or not (audit_index is None or type(audit_index) is int):
        raise DeciderResponseError("'model_version' must be a string and 'audit_index' an integer or null")
    return Decision(
        action=action,
        reasons=tuple(reasons),
        score=float(score),
        model_version=model_version,
        audit_index=audit_index,
        freeze_account=freeze,
    )


class HttpDecider:
    """A :class:`~finpilot_payments.DecisionClient` that asks a decision service over HTTP.

    ``token`` is sent as a bearer token (never logged or shown in ``repr``). ``transport`` is for
    tests (an ``httpx.MockTransport``); by default a real connection pool.
    """

    def __init__(
        self,
        url: str,
        *,
        timeout_s: float = 0.5,
        fail_open: bool = False,
        token: str | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.url = url.rstrip("/") + "/api/v1/fraud/scores"
        self.fail_open = fail_open
        headers = {"User-Agent": "finpilot-payments"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        # finpilot's client defaults (finpilot.core.http_client; this app may not import finpilot, a
        # test compares): connect within at most 5 s, TLS verified, no redirects (they would carry
        # the bearer token elsewhere), a kept-alive pool of 32 connections idle for up to 30 s.
        self._client = httpx.Client(
            timeout=httpx.Timeout(timeout_s, connect=min(timeout_s, 5.0)),
            limits=httpx.Limits(max_connections=32, max_keepalive_connections=32, keepalive_expiry=30.0),
            verify=True,
            follow_redirects=False,
            transport=transport,
            headers=headers,
        )

    def __repr__(self) -> str:
        return f"HttpDecider({self.url!r}, fail_open={self.fail_open})"

    def decide(self, payment: PaymentContext) -> Decision:
        """Ask the service: a refusal (not 2xx nor 5xx) declines; an outage applies the failure policy."""
        # Built outside the try: a payment this service cannot describe is its own bug, never an outage to fail open on.
        body = score_request(payment)
        try:
            response = self._client.post(self.url, json=body)
            if not (response.is_success or response.is_server_error):
                # Logged by status only, as below: the body could quote the request.
                code = response.status_code
                _log.warning("decision service refused payment %s (HTTP %d)", payment.payment_id, code)
                return Decision(
                    action="decline",
                    reasons=(f"decider refused the request (HTTP {code})",),
                    model_version="unavailable",
                )
            response.raise_for_status()
            return parse_decision(response.json())
        except (httpx.HTTPError, ValueError, DeciderResponseError) as exc:
            # The type and status only: an error's text could quote the request, and never the token.
            status = exc.response.status_code if isinstance(exc, httpx.HTTPStatusError) else None
            _log.warning(
                "decision service failed for payment %s: %s%s",
                payment.payment_id,
                type(exc).__name__,
                "" if status is None else f" (HTTP {status})",
            )
            policy = "fail-open" if self.fail_open else "fail-closed"
            action: Action = "approve" if self.fail_open else "decline"
            return Decision(action=action, reasons=(f"decider unavailable ({policy})",), model_version="unavailable")

    def close(self) -> None:
        """Close the connection pool."""
        self._client.close()
