"""An engine per customer partition, fed the others' payments by observe_elsewhere, gives the same vectors."""

from __future__ import annotations

import zlib

import pytest
from feature_golden import golden_stream
from hypothesis import given, settings
from hypothesis import strategies as st

from finpilot.fraud import FeatureEngine, Payment


def split_vectors(rows: list[tuple[Payment, bool, int | None]], parts: int, salt: int) -> list[list[float]]:
    """Each payment's vector from the engine owning its customer; every engine sees every label."""
    engines = [FeatureEngine() for _ in range(parts)]
    out = []
    for payment, fraud, known_at in rows:
        owner = zlib.crc32(f"{salt}:{payment.customer}".encode()) % parts
        for number, engine in enumerate(engines):
            if number == owner:
                out.append(engine.update_and_features(payment))
            else:
                engine.observe_elsewhere(payment)
        for engine in engines:
            engine.observe_label(payment, fraud, known_at=known_at)
    return out


ROWS = list(golden_stream(customers=80, terminals=40, days=50))
SINGLE = split_vectors(ROWS, 1, 0)


def same(a: list[list[float]], b: list[list[float]]) -> bool:
    """Equal vectors, NaN equal to NaN (repr tells NaN and every float apart)."""
    return [repr(v) for v in a] == [repr(v) for v in b]


@pytest.mark.parametrize("parts", [1, 2, 4])
def test_partitioned_engines_give_the_single_engine_vectors(parts: int) -> None:
    assert same(split_vectors(ROWS, parts, 0), SINGLE)


@settings(max_examples=8, deadline=None)
@given(parts=st.sampled_from([2, 4]), salt=st.integers(0, 10_000), start=st.integers(0, len(ROWS) - 2000))
def test_any_partitioning_of_any_stretch_gives_the_same_vectors(parts: int, salt: int, start: int) -> None:
    rows = ROWS[start : start + 2000]
    assert same(split_vectors(rows, parts, salt), split_vectors(rows, 1, salt))


def test_observe_elsewhere_creates_no_customer() -> None:
    engine = FeatureEngine()
    engine.observe_elsewhere(Payment("a", 10 * 86_400, "c1", "t1", 5.0))
    assert engine.entities == (0, 1)
    assert engine.now == 10 * 86_400
    vector = engine.update_and_features(Payment("b", 10 * 86_400 + 5, "c2", "t1", 5.0))
    assert vector[30] == 2  # term_nb_tx_1d counts the other partition's payment
