"""The decision hook: before an authorization is committed, a :class:`DecisionClient` decides.

The service honours the answer: ``approve`` authorizes, ``review`` authorizes and flags the
authorization for an analyst, ``decline`` refuses it (HTTP 402) and records the refusal. A
decline with ``freeze_account`` set also freezes the paying account in the same transaction,
so its next payments are refused (HTTP 403) before any decider is asked.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal, Protocol, get_args

Action = Literal["approve", "review", "decline"]
ACTIONS: tuple[str, ...] = get_args(Action)


@dataclass(frozen=True)
class PaymentContext:
    """What a decider sees of one payment. No PAN: only the card's token and last four digits."""

    payment_id: str
    account_id: str
    merchant_id: str
    card_token: str
    card_last4: str
    amount: int
    currency: str
    time: str

    def to_json(self) -> dict[str, object]:
        """The JSON body sent to an HTTP decider."""
        return {
            "payment_id": self.payment_id,
            "account_id": self.account_id,
            "merchant_id": self.merchant_id,
            "card_token": self.card_token,
            "card_last4": self.card_last4,
            "amount": self.amount,
            "currency": self.currency,
            "time": self.time,
        }


@dataclass(frozen=True)
class Decision:
    """A decider's answer: the action, why, the score and which model and audit entry back it."""

    action: Action
    reasons: tuple[str, ...] = ()
    score: float = 0.0
    model_version: str = "none"
    audit_index: int | None = None
    freeze_account: bool = False
    """Freeze the paying account too (only with ``decline``): the decider has frozen it on its side."""

    def to_json(self) -> dict[str, object]:
        """The JSON form stored with the authorization and returned to the client."""
        return {
            "action": self.action,
            "reasons": list(self.reasons),
            "score": self.score,
            "model_version": self.model_version,
            "audit_index": self.audit_index,
        }


class DecisionClient(Protocol):
    """Anything that decides on a payment before it is committed."""

    def decide(self, payment: PaymentContext) -> Decision:
        """Decide on one payment."""
        ...


class AllowAllDecider:
    """A stub that approves every payment: the default until the fraud engine is wired in."""

    def decide(self, payment: PaymentContext) -> Decision:
        """Approve."""
        return Decision(action="approve", reasons=("allow-all stub",), model_version="allow-all")


class CallableDecider:
    """In-process decisions (library mode, no network hop): wraps a ``PaymentContext -> Decision`` callable."""

    def __init__(self, fn: Callable[[PaymentContext], Decision]) -> None:
        self._fn = fn

    def decide(self, payment: PaymentContext) -> Decision:
        """Call the wrapped function."""
        return self._fn(payment)
