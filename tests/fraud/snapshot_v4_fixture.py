"""Write ``tests/fraud/data/snapshot_v4.bin.gz``: a version-4 snapshot, and the vectors that follow it.

Run once, with the engine that wrote version 4 (commit 8ac94a1 of main): the fixture pins how an
older layout restores into the current one, so rerunning it with a newer engine would pin nothing
(the script refuses to). The stream is the golden one cut after 45 of its 60 days, so customers
have buckets older than their 30-day ring (whose uint16 days version 5 no longer stores) and
labels still pending; the hashes cover all 44 features of every vector after the cut.
"""

from __future__ import annotations

import gzip
import struct
import sys

import numpy as np
import orjson
from feature_golden import DATA, T0, feed, golden_stream

from finpilot.fraud import FeatureEngine, Payment

Row = tuple[Payment, bool, int | None]

V4_CUT_DAY = 45  # payments before this day of the golden stream are in the snapshot


def v4_snapshot() -> bytes:
    """The committed version-4 snapshot's bytes."""
    return gzip.decompress((DATA / "snapshot_v4.bin.gz").read_bytes())


def stale_buckets(data: bytes) -> int:
    """Buckets of a version-4 snapshot that hold payments of a day outside the 30 up to their
    customer's last active day: version 4 skipped them by their day, version 5 must drop them."""
    _, size = struct.unpack_from("<II", data, 7)
    doc = orjson.loads(data[15 : 15 + size])
    offset = 15 + size + (-(15 + size) % 64)
    rows = [len(doc["customers"]), len(doc["terminals"])]
    arrays = {}
    for kind, which, dtype, width in doc["arrays"]:
        arrays[kind, which] = np.frombuffer(data, dtype, rows[kind] * width, offset).reshape(rows[kind], width)
        offset += arrays[kind, which].nbytes
    last_day = arrays[0, 1][:, 9:10]  # version 4's int64 C_DAY
    days, counts = arrays[0, 2][:, :30].astype(np.int64), arrays[0, 2][:, 30:60]
    return int(((days <= last_day - 30) & (counts > 0)).sum())


def v4_rows() -> tuple[list[Row], list[Row]]:
    """The golden stream split at :data:`V4_CUT_DAY`: (before the snapshot, after it)."""
    rows = list(golden_stream())
    cut = next(i for i, (p, _, _) in enumerate(rows) if p.time >= T0 + V4_CUT_DAY * 86_400)
    return rows[:cut], rows[cut:]


def main() -> None:
    """Write the fixture (only with the version-4 engine)."""
    from finpilot.fraud._features._snapshot import VERSION

    if VERSION != 4:
        sys.exit(f"this engine writes version {VERSION}; the fixture must come from version 4")
    before, after = v4_rows()
    engine = FeatureEngine()
    feed(engine, before)
    (DATA / "snapshot_v4.bin.gz").write_bytes(gzip.compress(engine.snapshot(), mtime=0))
    rest = feed(engine, after, width=None)
    np.save(DATA / "snapshot_v4_rest_hashes.npy", np.asarray(rest, dtype=np.uint64), allow_pickle=False)
    print(len(before), "rows before the snapshot,", len(rest), "after", file=sys.stderr)


if __name__ == "__main__":
    main()
