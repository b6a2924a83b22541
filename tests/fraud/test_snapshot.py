"""A snapshot restores an engine that computes exactly the same features."""

from __future__ import annotations

import pytest
from fraud_helpers import payments, same, stream

from finpilot.core import InputError
from finpilot.fraud import FeatureConfig, FeatureEngine, PaymentTable


def test_restore_gives_identical_features(stream_table: PaymentTable) -> None:
    rows = payments(stream_table)
    labels = stream_table.frauds.tolist()
    half = len(rows) // 2
    engine = FeatureEngine(FeatureConfig(label_delay_days=7, large_ratio=2.5))
    stream(engine, rows, labels, stop=half)
    data = engine.snapshot()
    restored = FeatureEngine.restore(data)
    assert restored.snapshot() == data
    assert restored.config == engine.config
    assert restored.pending_labels == engine.pending_labels > 0
    rest = stream(engine, rows, labels, start=half)
    again = stream(restored, rows, labels, start=half)
    assert all(same(x, y) for x, y in zip(rest, again, strict=True))
    assert restored.snapshot() == engine.snapshot()


@pytest.mark.parametrize("data", [b"", b"{}", b'{"version": 1}', b"[1, 2]"])
def test_a_broken_snapshot_is_an_input_error(data: bytes) -> None:
    with pytest.raises(InputError):
        FeatureEngine.restore(data)
