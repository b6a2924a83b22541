"""The golden feature stream: payments, labels (some known late) and a hash of each feature vector.

The fixtures in ``tests/fraud/data`` were written by ``python tests/fraud/feature_golden.py`` with the
list-based engine that the columnar one replaced; the columnar engine must reproduce every vector
bit for bit (NaNs compared as NaN, whatever their sign bit).
"""

from __future__ import annotations

import gzip
import hashlib
import math
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
import numpy.typing as npt

from finpilot.fraud import FeatureEngine, Payment, iter_payments

DATA = Path(__file__).resolve().parent / "data"
T0 = 1_522_540_800  # 2018-04-01 00:00:00 UTC
DELAY_S = 7 * 86_400
PINNED = 37  # the fixtures pin the first 37 features; the behaviour features came after them


def golden_stream(
    customers: int = 300, terminals: int = 600, days: int = 60
) -> Iterator[tuple[Payment, bool, int | None]]:
    """(payment, fraud, known_at) in time order; ``known_at`` None means the default delay.

    Every 37th label is known late (after 9 to 30 days, so it lands in an already-summed bucket)
    and every 101st early (the next day), so both label paths are in the fixture.
    """
    for p in iter_payments(
        customers=customers,
        terminals=terminals,
        days=days,
        seed=13,
        compromised_terminals_per_day=1.0,
        compromised_customers_per_day=1.5,
    ):
        payment = Payment(f"tx{p.tx_id}", T0 + p.seconds, f"c{p.customer}", f"t{p.terminal}", p.amount)
        known_at: int | None = None
        if p.tx_id % 37 == 5:
            known_at = payment.time + (9 + p.tx_id % 22) * 86_400
        elif p.tx_id % 101 == 3:
            known_at = payment.time + 86_400
        yield payment, p.fraud, known_at


def row_hash(vector: Sequence[float]) -> int:
    """A 64-bit hash of the vector's float64 bytes, every NaN made the same NaN first."""
    arr = np.asarray([math.nan if math.isnan(x) else float(x) for x in vector], dtype=np.float64)
    return int.from_bytes(hashlib.blake2b(arr.tobytes(), digest_size=8).digest(), "little")


def feed(
    engine: FeatureEngine, rows: Sequence[tuple[Payment, bool, int | None]], width: int | None = PINNED
) -> list[int]:
    """Stream ``rows`` through ``engine``; the hash of each vector's first ``width`` features (None: all)."""
    out = []
    for payment, fraud, known_at in rows:
        out.append(row_hash(engine.update_and_features(payment)[:width]))
        engine.observe_label(payment, fraud, known_at=known_at)
    return out


def load_hashes(name: str) -> npt.NDArray[np.uint64]:
    """A committed hash fixture."""
    return np.load(DATA / name, allow_pickle=False)


def small_rows() -> list[tuple[Payment, bool, int | None]]:
    """The short stream of the version-2 snapshot fixture."""
    return list(golden_stream(customers=60, terminals=120, days=45))


SMALL_SNAPSHOT_AT = 0.6  # the share of the small stream fed before the v2 snapshot


def main() -> None:
    """Write the fixtures (run with the engine whose features they pin)."""
    rows = list(golden_stream())
    hashes = feed(FeatureEngine(), rows)
    np.save(DATA / "golden_feature_hashes.npy", np.asarray(hashes, dtype=np.uint64), allow_pickle=False)
    small = small_rows()
    cut = int(len(small) * SMALL_SNAPSHOT_AT)
    engine = FeatureEngine()
    feed(engine, small[:cut])
    (DATA / "snapshot_v2.json.gz").write_bytes(gzip.compress(engine.snapshot(), mtime=0))
    rest = feed(engine, small[cut:])
    np.save(DATA / "snapshot_v2_rest_hashes.npy", np.asarray(rest, dtype=np.uint64), allow_pickle=False)
    print(len(rows), "golden rows;", len(small), "small rows, snapshot at", cut, file=sys.stderr)


if __name__ == "__main__":
    main()
