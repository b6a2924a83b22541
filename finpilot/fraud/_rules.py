"""The rules layer: hard limits that hold whatever the model says.

A rule hit lifts the score to at least ``floor`` and adds a reason; the model's score still
orders payments among themselves below that floor. Every rule is off (``None``) by default.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from finpilot.fraud._features._engine import FEATURE_NAMES

_AMOUNT = FEATURE_NAMES.index("amount")
_TX_1D = FEATURE_NAMES.index("cust_nb_tx_1d")
_LARGE_7D = FEATURE_NAMES.index("cust_nb_large_7d")


@dataclass(frozen=True)
class Rules:
    """Thresholds for the rules: amount, payments per card per day, large payments per card in 7 days."""

    max_amount: float | None = None
    max_tx_per_day: int | None = None
    max_large_per_week: int | None = None
    floor: float = 0.99

    def apply(self, score: float, features: Sequence[float]) -> tuple[float, tuple[str, ...]]:
        """The combined score and the reasons of the rules that fired."""
        reasons: list[str] = []
        if self.max_amount is not None and features[_AMOUNT] > self.max_amount:
            reasons.append(f"amount {features[_AMOUNT]:g} above {self.max_amount:g}")
        if self.max_tx_per_day is not None and features[_TX_1D] > self.max_tx_per_day:
            reasons.append(f"{features[_TX_1D]:g} payments today, limit {self.max_tx_per_day}")
        if self.max_large_per_week is not None and features[_LARGE_7D] > self.max_large_per_week:
            count = features[_LARGE_7D]
            reasons.append(f"{count:g} unusually large payments in 7 days, limit {self.max_large_per_week}")
        if reasons:
            return max(score, self.floor), tuple(reasons)
        return score, ()
