"""The decision policy as code: a score, rule hits and the account's state become an action with reasons.

::

    score >= freeze    freeze_account   (the payment is declined and its account frozen)
    score >= decline   decline
    score >= review    review           (authorized, flagged for an analyst)
    any rule hit       review at least
    account frozen     decline, whatever the score
    otherwise          approve

The thresholds are typed configuration (:class:`Thresholds`); :func:`tune_thresholds` picks the
decline threshold from a validation set so that at most a target share of legitimate payments
is declined.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Literal, get_args

from finpilot.core import InputError

FraudAction = Literal["approve", "review", "decline", "freeze_account"]
"""What the policy can decide."""

FRAUD_ACTIONS: tuple[FraudAction, ...] = get_args(FraudAction)
"""Every action, mildest first."""


@dataclass(frozen=True)
class Thresholds:
    """Score thresholds, each the lowest score that triggers its action; ``review <= decline <= freeze``."""

    review: float = 0.5
    decline: float = 0.8
    freeze: float = 0.98

    def __post_init__(self) -> None:
        for name in ("review", "decline", "freeze"):
            value = getattr(self, name)
            if not (isinstance(value, int | float) and math.isfinite(value) and value >= 0):
                raise InputError(f"the {name} threshold must be a finite number >= 0", field=name)
        if not self.review <= self.decline <= self.freeze:
            raise InputError(
                "thresholds must satisfy review <= decline <= freeze",
                field="thresholds",
                fix=f"got review={self.review:g}, decline={self.decline:g}, freeze={self.freeze:g}",
            )


@dataclass(frozen=True)
class AccountState:
    """What the policy knows of the paying account."""

    frozen: bool = False


@dataclass(frozen=True)
class FraudDecision:
    """One decision: the action, the score behind it, why, and which model and policy made it."""

    action: FraudAction
    score: float
    reasons: tuple[str, ...]
    model_version: str
    policy_id: str

    def to_json(self) -> dict[str, object]:
        """The JSON form (the ``decision`` key holds the action)."""
        return {
            "decision": self.action,
            "score": self.score,
            "reasons": list(self.reasons),
            "model_version": self.model_version,
            "policy_id": self.policy_id,
        }


@dataclass(frozen=True)
class DecisionPolicy:
    """Thresholds plus a name; :attr:`policy_id` names both, so every decision says which rules made it."""

    thresholds: Thresholds = field(default_factory=Thresholds)
    name: str = "fraud-policy/1"

    @property
    def policy_id(self) -> str:
        """The name and the thresholds, e.g. ``fraud-policy/1 review=0.5 decline=0.8 freeze=0.98``."""
        t = self.thresholds
        return f"{self.name} review={t.review:g} decline={t.decline:g} freeze={t.freeze:g}"

    def decide(
        self,
        score: float,
        rule_hits: Sequence[str] = (),
        account: AccountState | None = None,
        *,
        model_version: str = "none",
    ) -> FraudDecision:
        """The action for one scored payment, with the reasons that led to it."""
        if not (isinstance(score, int | float) and math.isfinite(score)):
            raise InputError("the score must be a finite number", field="score")
        t = self.thresholds
        reasons = list(rule_hits)
        action: FraudAction
        if account is not None and account.frozen:
            action = "decline"
            reasons.insert(0, "account frozen")
        elif score >= t.freeze:
            action = "freeze_account"
            reasons.insert(0, f"score {score:.3f} >= freeze threshold {t.freeze:g}")
        elif score >= t.decline:
            action = "decline"
            reasons.insert(0, f"score {score:.3f} >= decline threshold {t.decline:g}")
        elif score >= t.review:
            action = "review"
            reasons.insert(0, f"score {score:.3f} >= review threshold {t.review:g}")
        elif reasons:
            action = "review"
        else:
            action = "approve"
        # Six decimals: more digits mean nothing, and a long run of them can look like a card number.
        return FraudDecision(action, round(float(score), 6), tuple(reasons), model_version, self.policy_id)


@dataclass(frozen=True)
class ThresholdTuning:
    """The decline threshold :func:`tune_thresholds` chose and what it does on the validation set."""

    decline: float
    false_decline_rate: float
    detection_rate: float
    legitimate: int
    frauds: int

    def apply(self, thresholds: Thresholds) -> Thresholds:
        """``thresholds`` with this decline threshold; review and freeze are moved only to keep the order."""
        return replace(
            thresholds,
            review=min(thresholds.review, self.decline),
            decline=self.decline,
            freeze=max(thresholds.freeze, self.decline),
        )


def tune_thresholds(
    scores: Sequence[float], labels: Sequence[int | bool], target_false_decline_rate: float
) -> ThresholdTuning:
    """The lowest decline threshold that declines at most ``target_false_decline_rate`` of the legitimate payments.

    A payment is declined when its score is at or above the threshold. The threshold is chosen
    among the legitimate scores (just above the highest one that must stay approved), so ties
    never push the rate over the target. When a legitimate payment scores 1.0 and the target
    allows none, the threshold is above 1 and nothing is declined.
    """
    if len(scores) != len(labels):
        raise InputError(f"{len(scores)} scores but {len(labels)} labels", field="labels")
    if not (
        isinstance(target_false_decline_rate, int | float)
        and not isinstance(target_false_decline_rate, bool)
        and 0 <= target_false_decline_rate < 1
    ):
        raise InputError("the target false-decline rate must be in [0, 1)", field="target_false_decline_rate")
    for i, s in enumerate(scores):
        if not (isinstance(s, int | float) and math.isfinite(s)):
            raise InputError(f"score {i} is not a finite number", field=f"scores[{i}]")
    for i, y in enumerate(labels):
        if y not in (0, 1):
            raise InputError(f"label {i} is neither 0 nor 1", field=f"labels[{i}]")
    legit = sorted((float(s) for s, y in zip(scores, labels, strict=True) if not y), reverse=True)
    fraud = [float(s) for s, y in zip(scores, labels, strict=True) if y]
    if not legit:
        raise InputError("the validation set has no legitimate payments", field="labels")
    # At most `allowed` legitimate payments may be declined: legit[allowed] is the highest score that must
    # stay approved (the target is below 1, so there is one).
    allowed = min(math.floor(target_false_decline_rate * len(legit)), len(legit) - 1)
    threshold = math.nextafter(legit[allowed], math.inf)
    declined_legit = sum(1 for s in legit if s >= threshold)
    caught = sum(1 for s in fraud if s >= threshold)
    return ThresholdTuning(
        decline=threshold,
        false_decline_rate=declined_legit / len(legit),
        detection_rate=caught / len(fraud) if fraud else math.nan,
        legitimate=len(legit),
        frauds=len(fraud),
    )
