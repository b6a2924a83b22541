"""A snapshot restores an engine that computes exactly the same features."""

from __future__ import annotations

import orjson
import pytest
from fraud_helpers import payments, same, stream

from finpilot.core import InputError
from finpilot.fraud import FEATURE_NAMES, FeatureEngine, Payment
from finpilot.fraud._csv import PaymentTable
from finpilot.fraud._features._engine import FeatureConfig


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


def test_a_version_1_snapshot_restores_with_an_empty_label_history() -> None:
    engine = FeatureEngine()
    first = Payment("a", 10 * 86_400, "c1", "t1", 10.0)
    engine.update_and_features(first)
    engine.observe_label(first, True)
    engine.advance_to(18 * 86_400)  # the label is known before the snapshot
    # The version-2 JSON the list-based engine wrote for exactly this state.
    ring = [-(2**62)] * 38
    ring[10 % 38] = 10
    counts = [0] * 38
    counts[10 % 38] = 1
    never = -(2**62)
    doc = {
        "version": 1,
        "config": [7, 3.0, 6],
        "now": 18 * 86_400,
        "seq": 1,
        "pending": [],
        "customers": {},
        "terminals": {
            "t1": [7, 10, True, ring, counts, counts, counts, [0] * 5, [0] * 5, [0] * 5, [0, 0], 0, 0, never]
        },
    }
    restored = FeatureEngine.restore(orjson.dumps(doc))
    later = Payment("b", 20 * 86_400, "c2", "t1", 10.0)
    vector = dict(zip(FEATURE_NAMES, restored.update_and_features(later), strict=True))
    assert vector["term_nb_fraud_delay_30d"] == 1  # the day buckets came back
    assert vector["term_known_fraud_run"] == 0  # version 1 did not keep the label history
    current = dict(zip(FEATURE_NAMES, FeatureEngine.restore(engine.snapshot()).update_and_features(later), strict=True))
    assert current["term_known_fraud_run"] == 1  # the current version keeps it
