"""Decisions over HTTP: ``POST {url}/v1/score`` with the payment, a timeout, and a failure policy.

The decision service answers ``{"action", "reasons", "score", "model_version", "audit_index"}``.
When it cannot be reached, times out, answers an error status or a malformed body:

- fail-closed (``fail_open=False``, the default): the payment is **declined** with the reason
  ``decider unavailable (fail-closed)``. No payment is approved without a decision.
- fail-open (``fail_open=True``): the payment is **approved** with the reason
  ``decider unavailable (fail-open)``, and the model version ``unavailable``, so the
  authorizations approved unseen can be found and reviewed afterwards.
"""

from __future__ import annotations

import logging
from typing import Any

import httpx

from finpilot_payments._decision import ACTIONS, Decision, PaymentContext

_log = logging.getLogger("finpilot_payments.decider")


class DeciderResponseError(Exception):
    """The decision service answered something that is not a decision."""


def parse_decision(body: Any) -> Decision:
    """A :class:`Decision` from a decision service's JSON body; raises :class:`DeciderResponseError`."""
    if not isinstance(body, dict):
        raise DeciderResponseError("the body is not a JSON object")
    action = body.get("action")
    if action not in ACTIONS:
        raise DeciderResponseError("'action' must be approve, review or decline")
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
    )


class HttpDecider:
    """A :class:`~finpilot_payments.DecisionClient` that asks a decision service over HTTP.

    ``transport`` is for tests (an ``httpx.MockTransport``); by default a real connection pool.
    """

    def __init__(
        self,
        url: str,
        *,
        timeout_s: float = 0.5,
        fail_open: bool = False,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.url = url.rstrip("/") + "/v1/score"
        self.fail_open = fail_open
        self._client = httpx.Client(timeout=timeout_s, transport=transport)

    def decide(self, payment: PaymentContext) -> Decision:
        """Ask the service; on any failure apply the fail-open or fail-closed policy."""
        try:
            response = self._client.post(self.url, json=payment.to_json())
            response.raise_for_status()
            return parse_decision(response.json())
        except (httpx.HTTPError, ValueError, DeciderResponseError) as exc:
            _log.warning("decision service failed for payment %s: %s", payment.payment_id, type(exc).__name__)
            if self.fail_open:
                return Decision(
                    action="approve", reasons=("decider unavailable (fail-open)",), model_version="unavailable"
                )
            return Decision(
                action="decline", reasons=("decider unavailable (fail-closed)",), model_version="unavailable"
            )

    def close(self) -> None:
        """Close the connection pool."""
        self._client.close()
