"""The embedded store: batched writes, out-of-order and skew handling, non-finite values, downsampling."""

from __future__ import annotations

import math
import random
import tempfile
import threading
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from finpilot.watch import EmbeddedQuery, MetricsStore, finite_points

T0 = 1_700_000_000.0
A = (("job", "a"),)


def ms(seconds: float) -> int:
    return int(seconds * 1000)


@pytest.fixture
def store(tmp_path: Path) -> MetricsStore:
    return MetricsStore(tmp_path / "metrics.db", out_of_order_s=30, skew_tolerance_s=60)


def test_write_and_read_back_with_scrape_time_for_unstamped_samples(store: MetricsStore) -> None:
    result = store.write([("m", A, 1.0, None), ("m", (("job", "b"),), 2.0, ms(T0 - 5))], scrape_time=T0)
    assert (result.accepted, result.duplicates, dict(result.rejected)) == (2, 0, {})
    (a,) = [s for s in store.find_series("m") if s.labels == {"job": "a"}]
    assert store.points(a.id, T0 - 10, T0 + 10) == ([T0], [1.0])
    assert store.counts() == {"series": 2, "samples": 2, "rollups": 0}


def test_nan_and_infinities_survive_the_round_trip(store: MetricsStore) -> None:
    store.write([("m", A, v, ms(T0 + i)) for i, v in enumerate([math.nan, math.inf, -math.inf, 1.0])], scrape_time=T0)
    (s,) = store.find_series("m")
    _, values = store.points(s.id, T0, T0 + 10)
    assert math.isnan(values[0])
    assert values[1:] == [math.inf, -math.inf, 1.0]
    points = list(zip(*store.points(s.id, T0, T0 + 10), strict=True))
    assert finite_points(points) == [(T0 + 3, 1.0)]


def test_duplicates_are_idempotent(store: MetricsStore) -> None:
    store.write([("m", A, 1.0, ms(T0))], scrape_time=T0)
    again = store.write([("m", A, 1.0, ms(T0))], scrape_time=T0)
    assert (again.accepted, again.duplicates) == (0, 1)
    assert store.counts()["samples"] == 1


def test_out_of_order_within_tolerance_is_kept_beyond_is_counted(store: MetricsStore) -> None:
    store.write([("m", A, 5.0, ms(T0 + 100))], scrape_time=T0 + 100, target="job/a")
    late = store.write([("m", A, 4.0, ms(T0 + 80)), ("m", A, 1.0, ms(T0 + 10))], scrape_time=T0 + 100, target="job/a")
    assert late.accepted == 1
    assert late.rejected == {"out_of_order": 1}
    assert store.rejections() == {"job/a": {"out_of_order": 1}}
    (s,) = store.find_series("m")
    assert store.points(s.id, T0, T0 + 200)[0] == [T0 + 80, T0 + 100]


def test_samples_from_a_clock_ahead_of_ours_are_rejected_and_counted_per_target(store: MetricsStore) -> None:
    result = store.write(
        [("m", A, 1.0, ms(T0 + 30)), ("m", A, 2.0, ms(T0 + 3600))], scrape_time=T0, target="job/skewed"
    )
    assert result.accepted == 1
    assert result.rejected == {"future": 1}
    store.write([("m", A, 3.0, ms(T0 + 7200))], scrape_time=T0, target="job/skewed")
    assert store.rejections() == {"job/skewed": {"future": 2}}


def test_a_failed_batch_stores_nothing(store: MetricsStore) -> None:
    def rows():  # type: ignore[no-untyped-def]
        yield ("m", A, 1.0, ms(T0))
        raise RuntimeError("the producer broke mid-batch")

    with pytest.raises(RuntimeError):
        store.write(rows(), scrape_time=T0)
    assert store.counts()["samples"] == 0
    # The caches were reset with the rollback: the same sample can still be written.
    assert store.write([("m", A, 1.0, ms(T0))], scrape_time=T0).accepted == 1


def test_downsampling_rolls_old_samples_into_buckets_that_reads_still_serve(tmp_path: Path) -> None:
    store = MetricsStore(tmp_path / "m.db", downsample_after_s=3600, downsample_step_s=300, retention_s=86400)
    start = 1_700_000_100.0 - (1_700_000_100 % 300)  # a bucket boundary
    rows = [("c", A, float(i * 15), ms(start + i * 15)) for i in range(241)]  # one hour, a counter at 1/s
    store.write(rows, scrape_time=start + 3600)
    done = store.compact(now=start + 3600 + 3600)
    assert done.watermark_ms == ms(start + 3600)
    assert done.rolled_up == 12
    counts = store.counts()
    assert counts == {"series": 1, "samples": 1, "rollups": 12}
    (s,) = store.find_series("c")
    times, values = store.points(s.id, start, start + 3600)
    # One point per bucket: its last value at its last timestamp, then the raw sample left.
    assert times[0] == start + 285
    assert values[:3] == [285.0, 585.0, 885.0]
    assert times[-1] == start + 3600
    # A counter stays a counter: rate over the rolled-up points is still 1/s.
    q = EmbeddedQuery(store)
    (rated,) = q.rate("c", start + 1800, start + 1800, 60, 900)
    assert rated.points[0][1] == pytest.approx(1.0)
    # Behind the watermark nothing new is accepted (it could not be served consistently).
    late = store.write([("c", A, 1.0, ms(start + 10))], scrape_time=start + 7200, target="t")
    assert late.rejected == {"too_old": 1}


def test_retention_drops_everything_older(tmp_path: Path) -> None:
    store = MetricsStore(tmp_path / "m.db", downsample_after_s=None, retention_s=600)
    store.write([("g", A, float(i), ms(T0 + i * 60)) for i in range(20)], scrape_time=T0 + 1140)
    store.compact(now=T0 + 1200)
    (s,) = store.find_series("g")
    assert store.points(s.id, T0, T0 + 2000)[0][0] == T0 + 600


def test_readers_run_beside_a_writer(store: MetricsStore) -> None:
    stop = threading.Event()
    errors: list[BaseException] = []

    def read() -> None:
        try:
            while not stop.is_set():
                for s in store.find_series("w"):
                    times, _ = store.points(s.id, T0 - 10, T0 + 10_000)
                    assert times == sorted(times)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    readers = [threading.Thread(target=read) for _ in range(3)]
    for r in readers:
        r.start()
    for i in range(200):
        store.write([("w", A, float(i), ms(T0 + i))], scrape_time=T0 + i)
    stop.set()
    for r in readers:
        r.join()
    assert errors == []
    assert store.counts()["samples"] == 200


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(st.integers(min_value=0, max_value=600), min_size=1, max_size=60),
    st.randoms(use_true_random=False),
)
def test_shuffled_and_repeated_writes_within_tolerance_never_lose_or_double(
    offsets: list[int], rnd: random.Random
) -> None:
    # Deliver the samples in batches, late by at most the tolerance, some twice.
    ordered = sorted(offsets)
    batches: list[list[int]] = []
    i = 0
    while i < len(ordered):
        size = rnd.randint(1, 5)
        batch = ordered[i : i + size]
        rnd.shuffle(batch)
        batches.append(batch + rnd.sample(batch, k=min(len(batch), rnd.randint(0, 2))))
        i += size
    with tempfile.TemporaryDirectory() as tmp:
        store = MetricsStore(Path(tmp) / "m.db", out_of_order_s=30)
        accepted = 0
        for batch in batches:
            # Within a batch the spread is below the 30 s tolerance only when the offsets are close;
            # a real scrape's samples share one timestamp, so clip the spread to the tolerance.
            top = max(batch)
            rows = [("m", A, float(o), ms(T0 + max(o, top - 30))) for o in batch]
            result = store.write(rows, scrape_time=T0 + 700)
            assert not result.rejected
            accepted += result.accepted
        (s,) = store.find_series("m")
        times, _ = store.points(s.id, T0, T0 + 700)
        expected = {T0 + max(o, max(b) - 30) for b in batches for o in b}
        assert sorted(times) == times
        assert set(times) == expected
        assert len(times) == len(expected) == accepted
        store.close()
