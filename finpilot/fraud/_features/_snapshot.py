"""Feature-engine snapshots: versions 3 and 4 are binary (a JSON header, then the raw row arrays).

Layout: the magic ``\\x93FPFEAT``, a little-endian uint32 version and uint32 header length, the
header (JSON: config, clock, pending labels, entity ids in row order, and each array's dtype and
width), zero padding to a multiple of 64 bytes, then each array's used rows in C order: the
customers' float64, int64 and uint16 columns (version 4 adds their behaviour arrays, uint16 and
int32), then the terminals' int32 columns. No
pickle anywhere; a restore copies the arrays out of the buffer, so an mmap of a snapshot file
restores without reading it into memory first.

Versions 1 and 2 were JSON documents of per-entity lists (the list-based engine); they still restore,
as does version 3, with the customers' behaviour columns empty (no history).
"""

from __future__ import annotations

import heapq
import struct
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt
import orjson

from finpilot.core import InputError
from finpilot.fraud._features._entities import (
    C_FLOATS,
    C_INTS,
    C_SMALL,
    CUSTOMER_RING,
    NEVER,
    NEVER32,
    NO_DAY16,
    NO_ROW,
    Q_INTS,
    Q_SMALL,
    T_INTS,
    T_RINGS,
)

if TYPE_CHECKING:
    from finpilot.fraud._features._engine import FeatureEngine, SnapshotData

MAGIC = b"\x93FPFEAT"
VERSION = 4
_READS = (3, 4)  # binary versions this code restores
_HEAD = struct.Struct("<II")
_ALIGN = 64
_V1_TERMINAL = 14  # a terminal's JSON length before the label history was added


def snapshot_parts(engine: FeatureEngine) -> Iterator[bytes | memoryview]:
    """The pieces of a version-4 snapshot, in order (the arrays as views, not copies)."""
    cfg = engine.config
    stores = (engine._customers, engine._terminals)
    arrays: list[tuple[int, int, str, int]] = [
        (kind, which, np.dtype(dtype).str, width)
        for kind, store in enumerate(stores)
        for which, (dtype, width) in enumerate(store.layout)
    ]
    header = orjson.dumps(
        {
            "config": [cfg.label_delay_days, cfg.large_ratio, cfg.night_until_hour],
            "now": engine._now,
            "seq": engine._seq,
            "pending": engine._pending,
            "customers": list(engine._customers.ids),
            "terminals": list(engine._terminals.ids),
            "arrays": arrays,
        }
    )
    start = len(MAGIC) + _HEAD.size + len(header)
    yield MAGIC + _HEAD.pack(VERSION, len(header)) + header + bytes(-start % _ALIGN)
    for kind, which, _, _ in arrays:
        for chunk in stores[kind].column_chunks(which):
            yield np.ascontiguousarray(chunk).data.cast("B")


def restore(cls: type[FeatureEngine], data: SnapshotData) -> FeatureEngine:
    """An engine from snapshot bytes of any version; InputError if they are not a snapshot."""
    view = memoryview(data).cast("B")
    try:
        if bytes(view[: len(MAGIC)]) == MAGIC:
            return _restore_binary(cls, view)
        return _restore_json(cls, bytes(view))
    except (ValueError, KeyError, TypeError, IndexError, AttributeError, struct.error) as exc:
        raise InputError(f"not a feature-engine snapshot: {exc}", field="snapshot") from exc


def _engine(cls: type[FeatureEngine], doc: dict[str, Any]) -> FeatureEngine:
    from finpilot.fraud._features._engine import FeatureConfig

    delay, ratio, night = doc["config"]
    engine = cls(FeatureConfig(int(delay), float(ratio), int(night)))
    engine._now = int(doc["now"])
    engine._seq = int(doc["seq"])
    engine._pending = [(int(a), int(b), str(c), str(d), int(e), bool(f)) for a, b, c, d, e, f in doc["pending"]]
    heapq.heapify(engine._pending)
    return engine


def _restore_binary(cls: type[FeatureEngine], view: memoryview) -> FeatureEngine:
    version, size = _HEAD.unpack_from(view, len(MAGIC))
    if version not in _READS:
        raise ValueError(f"unknown snapshot version {version!r}")
    start = len(MAGIC) + _HEAD.size
    doc: dict[str, Any] = orjson.loads(bytes(view[start : start + size]))
    engine = _engine(cls, doc)
    stores = (engine._customers, engine._terminals)
    names = [list(map(str, doc["customers"])), list(map(str, doc["terminals"]))]
    offset = start + size
    offset += -offset % _ALIGN
    columns: list[list[npt.NDArray[Any]]] = [[], []]
    for kind, which, dtype_text, width in doc["arrays"]:
        dtype, expected = stores[kind].layout[which]
        if np.dtype(dtype_text) != np.dtype(dtype) or width != expected:
            raise ValueError(f"array {kind}.{which} is {dtype_text}x{width}, expected {np.dtype(dtype).str}x{expected}")
        rows = len(names[kind])
        count = rows * width
        array = np.frombuffer(view, dtype=np.dtype(dtype_text), count=count, offset=offset)
        columns[kind].append(array.reshape(rows, width))
        offset += count * array.itemsize
    if len(columns[0]) == 3:  # version 3: no behaviour columns yet
        columns[0].extend(_empty_behaviour(len(names[0])))
    for store, kind_names, kind_columns in zip(stores, names, columns, strict=True):
        store.load(kind_names, kind_columns)
    return engine


def _restore_json(cls: type[FeatureEngine], data: bytes) -> FeatureEngine:
    doc: dict[str, Any] = orjson.loads(data)
    # Version 1 lacks the label-counted terminal history: it restores with that history empty.
    if doc.get("version") not in (1, 2):
        raise ValueError(f"unknown snapshot version {doc.get('version')!r}")
    engine = _engine(cls, doc)
    customers = doc["customers"]
    engine._customers.load(list(customers), _customer_columns(list(customers.values())))
    terminals = doc["terminals"]
    engine._terminals.load(list(terminals), _terminal_columns(list(terminals.values()), engine._ring))
    return engine


def _days16(ring_day: list[int]) -> list[int]:
    out = [NO_DAY16 if d == NEVER else int(d) for d in ring_day]
    if any(not 0 <= d <= NO_DAY16 for d in out):
        raise ValueError("a bucket day is outside 1970 to 2149")
    return out


def _customer_columns(rows: list[list[Any]]) -> list[npt.NDArray[Any]]:
    floats = np.zeros((len(rows), C_FLOATS), np.float64)
    ints = np.zeros((len(rows), C_INTS), np.int64)
    small = np.zeros((len(rows), C_SMALL), np.uint16)
    for i, row in enumerate(rows):
        day, ring_day, cnt, amt, amt2, hi, c_cnt, c_amt, c_amt2, c_hi, life_n, life_mean, last, known = row
        if len(ring_day) != CUSTOMER_RING:
            raise ValueError("a customer ring has the wrong length")
        floats[i] = [*amt, *amt2, *c_amt, c_amt2, life_mean]
        ints[i] = [*c_cnt, *c_hi, life_n, last, known, day]
        small[i] = [*_days16(ring_day), *(min(c, NO_DAY16) for c in cnt), *(min(h, NO_DAY16) for h in hi)]
    return [floats, ints, small, *_empty_behaviour(len(rows))]


def _empty_behaviour(rows: int) -> list[npt.NDArray[Any]]:
    """Behaviour columns with no history (what :func:`init_behaviour` writes), for older snapshots."""
    return [np.zeros((rows, Q_SMALL), np.uint16), np.full((rows, Q_INTS), NO_ROW, np.int32)]


def _terminal_columns(rows: list[list[Any]], ring: int) -> list[npt.NDArray[Any]]:
    ints = np.zeros((len(rows), T_INTS), np.int32)
    rings = np.zeros((len(rows), T_RINGS * ring), np.int32)
    for i, given in enumerate(rows):
        row = [*given, 0, 0, 0, NEVER, -1] if len(given) == _V1_TERMINAL else given
        delay, day, dirty, ring_day, n, lab, fr, c_n, c_lab, c_fr, c_recent, s_lab, s_fr, last_fraud, *history = row
        if len(ring_day) != ring:
            raise ValueError(f"a terminal ring has {len(ring_day)} days, the config implies {ring} (delay {delay})")
        bits, seen, run, run_start, since = history
        last, start, today = (NEVER32 if d == NEVER else d for d in (last_fraud, run_start, day))
        ints[i] = [*c_n, *c_lab, *c_fr, *c_recent, s_lab, s_fr, last, bits, seen, run, start, since, today, dirty]
        rings[i] = [*(NEVER32 if d == NEVER else d for d in ring_day), *n, *lab, *fr]
    return [ints, rings]
