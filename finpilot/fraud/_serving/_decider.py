"""In-process decisions for the payments service, without importing it (it is a separate application).

The payments service asks a ``PaymentContext -> Decision`` callable (its ``CallableDecider``).
:func:`payments_decider` gives one over a :class:`FraudService`, typed structurally: anything with
the context's attributes goes in, and what comes out has the attributes and ``to_json`` of
its ``Decision``. The service knows three actions, so ``freeze_account`` is a decline there
with ``freeze_account`` set, and the payments service freezes the account on its side too
(the fraud service has already frozen it on its own). A payment the fraud service refuses to
score (an id that looks like a card number, say) is declined, as a fail-closed HTTP decider would.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal, Protocol

from finpilot.core import InputError
from finpilot.fraud._payment import Payment
from finpilot.fraud._serving._service import FraudService
from finpilot.fraud._serving._wire import currency_exponent, parse_time

PaymentsAction = Literal["approve", "review", "decline"]
"""The actions the payments service knows."""


class PaymentLike(Protocol):
    """What the decider reads of the payments service's ``PaymentContext`` (never a card number)."""

    @property
    def payment_id(self) -> str: ...
    @property
    def account_id(self) -> str: ...
    @property
    def merchant_id(self) -> str: ...
    @property
    def amount(self) -> int: ...
    @property
    def currency(self) -> str: ...
    @property
    def time(self) -> str: ...


@dataclass(frozen=True)
class PaymentsDecision:
    """Shaped like the payments service's ``Decision``: same attributes, same ``to_json``."""

    action: PaymentsAction
    reasons: tuple[str, ...] = ()
    score: float = 0.0
    model_version: str = "none"
    audit_index: int | None = None
    freeze_account: bool = False

    def to_json(self) -> dict[str, object]:
        """The JSON form the payments service stores with the authorization."""
        return {
            "action": self.action,
            "reasons": list(self.reasons),
            "score": self.score,
            "model_version": self.model_version,
            "audit_index": self.audit_index,
        }


def payments_decider(service: FraudService) -> Callable[[PaymentLike], PaymentsDecision]:
    """A decider for the payments service: the account pays (customer), the merchant is the terminal.

    Amounts arrive in minor units and are scaled to major units by the currency's ISO 4217
    exponent (cents to euros, yen as they are), the scale the models are trained on.
    """

    def decide(payment: PaymentLike) -> PaymentsDecision:
        try:
            fraud_payment = Payment(
                payment.payment_id,
                parse_time(payment.time),
                payment.account_id,
                payment.merchant_id,
                payment.amount / 10 ** currency_exponent(payment.currency),
            )
            decision, index = service.score(fraud_payment)
        except InputError as exc:  # refused before anything changed: decline, never approve unseen
            return PaymentsDecision("decline", (f"not scored: '{exc.field}' refused",), model_version="unavailable")
        freeze = decision.action == "freeze_account"
        action: PaymentsAction = "decline" if decision.action == "freeze_account" else decision.action
        return PaymentsDecision(action, decision.reasons, decision.score, decision.model_version, index, freeze)

    return decide
