"""The customer-behaviour and terminal-to-customer features: values, no look-ahead, snapshots, memory."""

from __future__ import annotations

import math
import struct

import numpy as np
import orjson
from feature_golden import golden_stream
from hypothesis import given, settings
from hypothesis import strategies as st
from snapshot_v4_fixture import v4_rows, v4_snapshot

from finpilot.fraud import FEATURE_NAMES, FeatureEngine, Payment
from finpilot.fraud._features._engine import BEHAVIOUR_FEATURES, CUSTOMER_LAYOUT
from finpilot.fraud._features._entities import C_LIFE_N, LIFE_MAX

DAY = 86_400
T0 = 1_522_540_800 + 12 * 3_600  # 2018-04-01 noon
SHORT = list(golden_stream(customers=40, terminals=30, days=25))
SHARE, PCT, Q50, Q90, NEW, RISK, RUNS = (FEATURE_NAMES.index(n) for n in BEHAVIOUR_FEATURES)


def pay(engine: FeatureEngine, tx: str, day: float, customer: str, terminal: str, amount: float) -> list[float]:
    return engine.update_and_features(Payment(tx, int(T0 + day * DAY), customer, terminal, amount))


def test_the_behaviour_features_are_the_last_seven() -> None:
    assert FEATURE_NAMES[-7:] == BEHAVIOUR_FEATURES
    assert len(set(FEATURE_NAMES)) == len(FEATURE_NAMES) == 44


def test_a_customer_row_stays_under_one_kilobyte() -> None:
    row = sum(np.dtype(dtype).itemsize * width for dtype, width in CUSTOMER_LAYOUT)
    assert row == 798  # 890 in snapshot version 4 (int64 counters, a uint16 day per bucket)
    assert row <= 1000


def test_a_lifetime_count_past_32_bits_saturates() -> None:
    engine = FeatureEngine()
    pay(engine, "a", 0, "c", "t", 10.0)
    ints = engine._customers.blocks[0][4]  # the int32 counters, by layout
    ints[0, C_LIFE_N] = LIFE_MAX
    v = pay(engine, "b", 0.1, "c", "t", 20.0)
    assert v[FEATURE_NAMES.index("cust_amount_ratio_life")] == 2.0
    assert ints[0, C_LIFE_N] == LIFE_MAX  # not wrapped round to a negative count
    assert pay(engine, "c", 0.2, "c", "t", 10.0)[FEATURE_NAMES.index("cust_amount_ratio_life")] < 1.0


def test_the_share_of_large_payments_covers_the_last_sixteen() -> None:
    engine = FeatureEngine()
    for i in range(20):
        v = pay(engine, f"a{i}", i / 10, "c", "t", 10.0)
    assert v[SHARE] == 0.0
    for i in range(3):
        v = pay(engine, f"b{i}", 2 + i / 10, "c", "t", 100.0)
    assert v[SHARE] == 3 / 16
    first = pay(FeatureEngine(), "x", 0, "c", "t", 10.0)
    assert first[SHARE] == 0.0  # one payment seen, not large (no history to compare with)


def test_the_amount_is_placed_in_the_customers_own_histogram() -> None:
    engine = FeatureEngine()
    assert math.isnan(pay(engine, "a", 0, "c", "t", 10.0)[PCT])
    rng = np.random.default_rng(1)
    for i, amount in enumerate(rng.uniform(8, 40, 200)):
        pay(engine, f"p{i}", 0.01 * i, "c", "t", float(amount))
    usual = pay(engine, "u", 3, "c", "t", 20.0)
    huge = pay(engine, "h", 3.1, "c", "t", 900.0)
    tiny = pay(engine, "s", 3.2, "c", "t", 0.5)
    assert 0.2 < usual[PCT] < 0.8
    assert 0.5 < usual[Q50] < 1.5
    assert huge[PCT] == 1.0
    assert huge[Q90] > 15
    assert tiny[PCT] == 0.0
    assert tiny[Q50] < 0.1


def test_the_histogram_keeps_counting_past_its_cap() -> None:
    engine = FeatureEngine()
    for i in range(1_500):  # past HIST_CAP: bins are halved, the shape stays
        pay(engine, f"p{i}", i / 100, "c", "t", 10.0 if i % 2 else 40.0)
    v = pay(engine, "x", 16, "c", "t", 40.0)
    assert 0.4 < v[PCT] < 1.0
    assert 0.9 < v[Q90] < 1.3


def test_a_new_terminal_is_flagged() -> None:
    engine = FeatureEngine()
    assert math.isnan(pay(engine, "a", 0, "c", "t1", 10.0)[NEW])
    assert pay(engine, "b", 0.1, "c", "t1", 10.0)[NEW] == 0.0
    assert pay(engine, "c", 0.2, "c", "t2", 10.0)[NEW] == 1.0
    for i in range(8):  # eight other terminals push t1 out of the remembered ones
        pay(engine, f"d{i}", 0.3 + i / 100, "c", f"o{i}", 10.0)
    assert pay(engine, "e", 0.5, "c", "t1", 10.0)[NEW] == 1.0
    assert pay(engine, "f", 0.6, "c", "o7", 10.0)[NEW] == 0.0


def test_terminal_risk_reaches_its_customers_only_once_the_label_is_known() -> None:
    engine = FeatureEngine()
    pay(engine, "v", 10, "victim", "bad", 10.0)
    fraud = Payment("f", int(T0 + 10.2 * DAY), "thief", "bad", 50.0)
    engine.update_and_features(fraud)
    engine.observe_label(fraud, True)  # known 7 days later: day 17.2
    for day in (11, 14, 17.1):
        v = pay(engine, f"w{day}", day, "victim", "home", 10.0)
        assert v[RISK] == 0.0
        assert v[RUNS] == 0
    later = pay(engine, "x", 17.3, "victim", "home", 10.0)
    assert later[RISK] == 1.0
    assert later[RUNS] == 1
    assert pay(engine, "y", 17.4, "victim", "bad", 10.0)[RISK] == 0.0  # its own terminal is not counted twice
    assert pay(engine, "z", 47.3, "victim", "home", 10.0)[RUNS] == 0  # 30 days after the last visit to "bad"


@settings(max_examples=10, deadline=None)
@given(at=st.floats(0.05, 0.95), seed=st.integers(0, 1_000))
def test_labels_known_after_a_time_leave_earlier_vectors_unchanged(at: float, seed: int) -> None:
    rows = SHORT
    t = rows[int(at * len(rows))][0].time
    rng = np.random.default_rng(seed)

    def vectors(flip: bool) -> list[str]:
        engine = FeatureEngine()
        out = []
        for payment, fraud, known_at in rows:
            out.append(repr(engine.update_and_features(payment)) if payment.time < t else "")
            when = known_at if known_at is not None else payment.time + 7 * DAY
            engine.observe_label(payment, bool(rng.integers(2)) if flip and when >= t else fraud, known_at=when)
        return out

    assert vectors(False) == vectors(True)


def test_the_golden_stream_exercises_terminal_to_customer_risk() -> None:
    engine = FeatureEngine()
    risks, runs = [], []
    for payment, fraud, known_at in golden_stream(customers=80, terminals=40, days=50):
        v = engine.update_and_features(payment)
        risks.append(v[RISK])
        runs.append(v[RUNS])
        engine.observe_label(payment, fraud, known_at=known_at)
    assert np.nanmax(risks) > 0.5
    assert max(runs) >= 2  # so the partitioned-engine test covers these features too


def _as_version_3(snapshot: bytes) -> bytes:
    """The same state as a version-3 snapshot: a version-4 one without the customer behaviour arrays."""
    assert snapshot[7:11] == struct.pack("<I", 4)
    magic, head = snapshot[:7], struct.Struct("<II")
    _, size = head.unpack_from(snapshot, 7)
    start = 7 + head.size
    doc = orjson.loads(snapshot[start : start + size])
    offset = start + size + (-(start + size) % 64)
    parts: list[bytes] = []
    rows = [len(doc["customers"]), len(doc["terminals"])]
    for kind, which, dtype, width in doc["arrays"]:
        length = rows[kind] * width * np.dtype(dtype).itemsize
        if not (kind == 0 and which >= 3):
            parts.append(snapshot[offset : offset + length])
        offset += length
    doc["arrays"] = [a for a in doc["arrays"] if not (a[0] == 0 and a[1] >= 3)]
    header = orjson.dumps(doc)
    first = magic + head.pack(3, len(header)) + header
    return first + bytes(-len(first) % 64) + b"".join(parts)


def test_a_snapshot_round_trip_keeps_the_behaviour_state() -> None:
    engine = FeatureEngine.restore(v4_snapshot())
    restored = FeatureEngine.restore(engine.snapshot())
    old = FeatureEngine.restore(_as_version_3(v4_snapshot()))
    assert old.entities == engine.entities
    for payment, _, _ in v4_rows()[1][:400]:
        a, b, c = (e.update_and_features(payment) for e in (engine, restored, old))
        assert repr(a) == repr(b)
        assert repr(a[:37]) == repr(c[:37])  # a version-3 snapshot restores with the behaviour empty


def test_a_version_3_snapshot_restores_with_no_customer_behaviour() -> None:
    old = FeatureEngine.restore(_as_version_3(v4_snapshot()))
    current = FeatureEngine.restore(v4_snapshot())
    first = v4_rows()[1][0][0]  # a customer with history before the snapshot
    v, w = (e.update_and_features(first) for e in (old, current))
    assert math.isnan(v[PCT])
    assert not math.isnan(w[PCT])
    assert math.isnan(v[NEW])
    assert not math.isnan(w[NEW])
    assert v[SHARE] == 0.0
    assert old.snapshot()[7:11] == struct.pack("<I", 5)


def test_terminal_risk_is_read_past_the_first_block_and_rebuilt_on_restore() -> None:
    engine = FeatureEngine()
    for i in range(5_000):  # more terminals than one block of rows
        engine.observe_elsewhere(Payment(f"o{i}", T0 + i, "other", f"t{i}", 5.0))
    pay(engine, "v", 1, "victim", "t4999", 10.0)
    fraud = Payment("f", T0 + DAY + 60, "thief", "t4999", 50.0)
    engine.update_and_features(fraud)
    engine.observe_label(fraud, True, known_at=T0 + 2 * DAY)
    restored = FeatureEngine.restore(engine.snapshot())
    for e in (engine, restored):
        v = pay(e, "w", 3, "victim", "t1", 10.0)
        assert v[RISK] == 1.0
        assert v[RUNS] == 1
    assert np.array_equal(engine._trisk[:5_001], restored._trisk[:5_001])
