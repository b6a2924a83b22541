"""Helpers shared by the fraud tests (a uniquely named module: conftest.py cannot be imported)."""

from __future__ import annotations

import math
from collections.abc import Sequence

from finpilot.fraud import FeatureEngine, Payment
from finpilot.fraud._csv import PaymentTable

T0 = 1_533_081_600  # 2018-08-01 00:00:00 UTC, a Wednesday
DAY = 86_400


def pay(seconds: int, customer: str = "c1", terminal: str = "t1", amount: float = 10.0, tx: str = "") -> Payment:
    """A payment ``seconds`` after T0."""
    return Payment(tx or f"tx{seconds}", T0 + seconds, customer, terminal, amount)


def payments(table: PaymentTable) -> list[Payment]:
    """The table's rows as payments."""
    return [
        Payment(table.tx_ids[i], int(table.times[i]), table.customers[i], table.terminals[i], float(table.amounts[i]))
        for i in range(len(table))
    ]


def stream(
    engine: FeatureEngine, rows: Sequence[Payment], labels: Sequence[int], start: int = 0, stop: int | None = None
) -> list[list[float]]:
    """Feed rows ``[start, stop)`` through ``engine`` with their labels; the feature vectors."""
    out = []
    for i in range(start, len(rows) if stop is None else stop):
        out.append(engine.update_and_features(rows[i]))
        engine.observe_label(rows[i], bool(labels[i]))
    return out


def same(a: Sequence[float], b: Sequence[float]) -> bool:
    """Equal vectors, NaN equal to NaN."""
    return len(a) == len(b) and all(x == y or (math.isnan(x) and math.isnan(y)) for x, y in zip(a, b, strict=True))
