"""The columnar engine reproduces the list-based engine's features bit for bit, and its snapshots."""

from __future__ import annotations

import gzip
import mmap
import struct
from pathlib import Path

import numpy as np
import orjson
import pytest
from feature_golden import DATA, SMALL_SNAPSHOT_AT, feed, golden_stream, load_hashes, row_hash, small_rows
from hypothesis import given, settings
from hypothesis import strategies as st
from snapshot_v4_fixture import stale_buckets, v4_rows, v4_snapshot

from finpilot.core import InputError
from finpilot.fraud import FeatureEngine, Payment
from finpilot.fraud._features._engine import FeatureConfig


def test_every_vector_matches_the_list_based_engine() -> None:
    rows = list(golden_stream())
    got = np.asarray(feed(FeatureEngine(), rows), dtype=np.uint64)
    expected = load_hashes("golden_feature_hashes.npy")
    assert got.shape == expected.shape
    assert np.flatnonzero(got != expected).tolist() == []


def test_the_golden_stream_has_late_labels_and_frauds() -> None:
    rows = list(golden_stream())
    assert sum(fraud for _, fraud, _ in rows) > 500
    late = [p for p, _, known_at in rows if known_at is not None and known_at - p.time > 8 * 86_400]
    assert len(late) > 500


def test_a_version_2_snapshot_from_the_list_based_engine_restores_exactly() -> None:
    data = gzip.decompress((DATA / "snapshot_v2.json.gz").read_bytes())
    assert orjson.loads(data)["version"] == 2
    small = small_rows()
    cut = int(len(small) * SMALL_SNAPSHOT_AT)
    engine = FeatureEngine.restore(data)
    assert engine.now == small[cut - 1][0].time
    rest = np.asarray(feed(engine, small[cut:]), dtype=np.uint64)
    assert np.array_equal(rest, load_hashes("snapshot_v2_rest_hashes.npy"))


def test_a_version_4_snapshot_written_by_the_previous_engine_restores_exactly() -> None:
    data = v4_snapshot()
    assert struct.unpack_from("<I", data, 7) == (4,)
    assert stale_buckets(data) > 100  # so the restore must drop what version 4 skipped by its day
    engine = FeatureEngine.restore(data)
    _, after = v4_rows()
    assert engine.now < after[0][0].time
    assert engine.pending_labels > 0
    again = FeatureEngine.restore(engine.snapshot())
    assert again.snapshot()[7:11] == struct.pack("<I", 5)
    expected = load_hashes("snapshot_v4_rest_hashes.npy")
    for restored in (engine, again):  # all 44 features, straight from version 4 and via version 5
        assert np.array_equal(np.asarray(feed(restored, after, width=None), dtype=np.uint64), expected)


def test_a_binary_snapshot_round_trips_and_restores_from_an_mmap(tmp_path: Path) -> None:
    small = small_rows()
    cut = int(len(small) * SMALL_SNAPSHOT_AT)
    engine = FeatureEngine()
    feed(engine, small[:cut])
    data = engine.snapshot()
    assert data[:7] == b"\x93FPFEAT"
    path = tmp_path / "features.snapshot"
    with path.open("wb") as fh:
        assert engine.snapshot_to(fh) == len(data)
    with path.open("rb") as fh, mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as view:
        restored = FeatureEngine.restore(view)
    assert restored.snapshot() == data
    assert restored.entities == engine.entities
    assert restored.pending_labels == engine.pending_labels > 0
    expected = load_hashes("snapshot_v2_rest_hashes.npy")
    assert np.array_equal(np.asarray(feed(restored, small[cut:]), dtype=np.uint64), expected)


def test_a_damaged_binary_snapshot_is_an_input_error() -> None:
    engine = FeatureEngine()
    engine.update_and_features(Payment("a", 10 * 86_400, "c1", "t1", 10.0))
    data = engine.snapshot()
    for broken in (data[:20], data[:-8], data[:8] + b"\x09" + data[9:]):
        with pytest.raises(InputError) as info:
            FeatureEngine.restore(broken)
        assert info.value.field == "snapshot"


def test_a_snapshot_keeps_a_non_default_config() -> None:
    engine = FeatureEngine(FeatureConfig(label_delay_days=3, large_ratio=2.5, night_until_hour=5))
    rows = small_rows()[:500]
    feed(engine, rows)
    restored = FeatureEngine.restore(engine.snapshot())
    assert restored.config == engine.config
    more = small_rows()[500:900]
    assert feed(restored, more) == feed(engine, more)


def test_times_the_day_columns_cannot_hold_are_refused() -> None:
    with pytest.raises(InputError) as info:
        FeatureEngine().update_and_features(Payment("a", 0xFFFF * 86_400, "c1", "t1", 1.0))
    assert info.value.field == "time"


def test_row_hash_treats_every_nan_alike() -> None:
    assert row_hash([float("nan"), 1.0]) == row_hash([-float("nan"), 1.0]) != row_hash([0.0, 1.0])


ROWS = small_rows()[:1500]


@settings(max_examples=10, deadline=None)
@given(cut=st.integers(0, len(ROWS)))
def test_a_snapshot_at_any_point_continues_the_same_stream(cut: int) -> None:
    engine = FeatureEngine()
    feed(engine, ROWS[:cut])
    restored = FeatureEngine.restore(engine.snapshot())
    assert restored.snapshot() == engine.snapshot()
    assert feed(restored, ROWS[cut:]) == feed(engine, ROWS[cut:])
