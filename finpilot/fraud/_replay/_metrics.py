"""The handbook's metrics: ROC AUC, Average Precision and Card Precision@k.

Card Precision@k follows the handbook's code: each day, every card's score is its highest
payment score that day; the k best-scored cards are "investigated" and the share of them that
had a fraud that day is the day's precision (always divided by k). A card found compromised on
one day is left out of the following days. The result is the mean over the days.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt


def auc_and_ap(labels: npt.ArrayLike, scores: npt.ArrayLike) -> tuple[float, float]:
    """ROC AUC and Average Precision; NaN for both when only one class is present."""
    from sklearn.metrics import average_precision_score, roc_auc_score  # slow to import; only replays need it

    y = np.asarray(labels)
    if y.size == 0 or y.min() == y.max():
        return math.nan, math.nan
    s = np.asarray(scores, dtype=np.float64)
    return float(roc_auc_score(y, s)), float(average_precision_score(y, s))


def card_precision_at_k(
    days: Sequence[int] | npt.NDArray[np.int64],
    cards: Sequence[str] | npt.NDArray[np.int64],
    labels: npt.ArrayLike,
    scores: npt.ArrayLike,
    k: int = 100,
) -> tuple[float, list[float]]:
    """Mean Card Precision@``k`` over the days present, and the per-day values (see module docstring)."""
    day_arr = np.asarray(days)
    card_arr = np.asarray(cards)
    y = np.asarray(labels)
    s = np.asarray(scores, dtype=np.float64)
    detected: set[object] = set()
    per_day: list[float] = []
    for day in np.unique(day_arr):
        best: dict[object, tuple[float, int]] = {}
        for i in np.flatnonzero(day_arr == day):
            card = card_arr[i].item()
            if card in detected:
                continue
            score, fraud = best.get(card, (-math.inf, 0))
            best[card] = (max(score, float(s[i])), max(fraud, int(y[i])))
        ranked = sorted(best.items(), key=lambda item: -item[1][0])[:k]
        hits = [card for card, (_, fraud) in ranked if fraud]
        per_day.append(len(hits) / k)
        detected.update(hits)
    return (float(np.mean(per_day)) if per_day else math.nan), per_day
