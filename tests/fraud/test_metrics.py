"""The handbook's metrics on hand-made cases."""

from __future__ import annotations

import math

import pytest

from finpilot.fraud._replay._metrics import auc_and_ap, card_precision_at_k


def test_card_precision_by_hand() -> None:
    days = [1, 1, 1, 1, 2, 2, 2, 2]
    cards = ["A", "A", "B", "C", "A", "B", "C", "D"]
    labels = [1, 0, 0, 1, 1, 1, 1, 0]
    scores = [0.9, 0.1, 0.8, 0.7, 0.95, 0.6, 0.5, 0.4]
    # Day 1: card scores A .9 (fraud), B .8, C .7 (fraud); top 2 = A, B -> 1/2; A is now known.
    # Day 2: A is left out; B .6 (fraud), C .5 (fraud), D .4; top 2 = B, C -> 2/2.
    mean, per_day = card_precision_at_k(days, cards, labels, scores, k=2)
    assert per_day == [0.5, 1.0]
    assert mean == 0.75


def test_card_precision_divides_by_k_even_with_fewer_cards() -> None:
    mean, _ = card_precision_at_k([1], ["A"], [1], [0.3], k=100)
    assert mean == 0.01


def test_auc_and_ap() -> None:
    auc, ap = auc_and_ap([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8])
    assert auc == pytest.approx(0.75)
    assert ap == pytest.approx((1 + 2 / 3) / 2)
    assert all(math.isnan(v) for v in auc_and_ap([0, 0], [0.1, 0.2]))
