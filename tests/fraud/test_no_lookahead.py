"""No look-ahead: a feature never depends on a later payment or on a label not yet known."""

from __future__ import annotations

import random

from fraud_helpers import DAY, payments, same, stream

from finpilot.fraud import FeatureEngine
from finpilot.fraud._csv import PaymentTable


def test_changing_future_labels_leaves_earlier_features_unchanged(stream_table: PaymentTable) -> None:
    rows = payments(stream_table)
    labels = stream_table.frauds.tolist()
    cut = rows[len(rows) // 2].time
    rng = random.Random(1)
    flipped = [lab if p.time < cut else rng.randint(0, 1) for p, lab in zip(rows, labels, strict=True)]
    assert flipped != labels
    base = stream(FeatureEngine(), rows, labels)
    other = stream(FeatureEngine(), rows, flipped)
    visible = cut + 7 * DAY
    for p, x, y in zip(rows, base, other, strict=True):
        if p.time < visible:
            assert same(x, y), f"payment {p.tx_id} saw a label that was not known yet"
    # ... and the labels do matter once they are known, so the test can fail.
    assert any(not same(x, y) for p, x, y in zip(rows, base, other, strict=True) if p.time >= visible)


def test_future_payments_do_not_change_past_features(stream_table: PaymentTable) -> None:
    rows = payments(stream_table)
    labels = stream_table.frauds.tolist()
    full = stream(FeatureEngine(), rows, labels)
    half = len(rows) // 2
    prefix = stream(FeatureEngine(), rows[:half], labels[:half])
    assert all(same(x, y) for x, y in zip(prefix, full[:half], strict=True))
