"""The feature state creates no garbage-collected objects per customer or terminal."""

from __future__ import annotations

import gc

from finpilot.fraud import FEATURE_NAMES, FeatureEngine, Payment


def tracked_after(customers: int) -> int:
    engine = FeatureEngine()
    for i in range(customers):
        payment = Payment(f"tx{i}", 10 * 86_400 + i, f"cust-{i}", f"term-{i // 2}", 10.0 + i % 7)
        engine.update_and_features(payment)
    assert engine.entities == (customers, (customers + 1) // 2)
    gc.collect()
    count = len(gc.get_objects())
    del engine
    return count


def test_tracked_objects_do_not_grow_with_entities() -> None:
    assert len(FEATURE_NAMES) == 37
    tracked_after(100)  # warm every lazily created object first
    small = tracked_after(10_000)
    large = tracked_after(50_000)
    # 40k more customers and 20k more terminals: a handful of new block arrays, nothing per entity.
    assert large - small < 100
