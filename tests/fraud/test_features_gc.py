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
    assert len(FEATURE_NAMES) == 44
    tracked_after(100)  # warm every lazily created object first
    small = tracked_after(10_000)
    large = tracked_after(50_000)
    # 40k more customers and 20k more terminals: a handful of new block arrays, nothing per entity.
    assert large - small < 100


def test_no_payment_waits_for_the_compiler() -> None:
    from finpilot.fraud._features import _kernels

    engine = FeatureEngine()
    kernels = [_kernels.update_and_features, _kernels.count_at_terminal, _kernels.reveal]
    compiled = [len(getattr(kernel, "signatures", ())) for kernel in kernels]
    assert all(compiled)
    first = Payment("a", 10 * 86_400, "c1", "t1", 12)  # an int amount, too
    engine.update_and_features(first)
    engine.observe_label(first, True, known_at=11 * 86_400)
    engine.observe_elsewhere(Payment("b", 12 * 86_400, "c2", "t1", 3.5))
    engine.update_and_features(Payment("c", 12 * 86_400 + 1, "c1", "t2", 3.5))
    assert [len(getattr(kernel, "signatures", ())) for kernel in kernels] == compiled
