"""Feature-engine snapshots: versions 3 to 5 are binary (a JSON header, then the raw row arrays).

Layout: the magic ``\\x93FPFEAT``, a little-endian uint32 version and uint32 header length, the
header (JSON: config, clock, pending labels, entity ids in row order, and each array's dtype and
width), zero padding to a multiple of 64 bytes, then each array's used rows in C order: the
customers' arrays (:data:`~finpilot.fraud._features._engine.CUSTOMER_LAYOUT`), then the
terminals' two int32 arrays. No pickle anywhere; a restore copies the arrays out of the buffer, so
an mmap of a snapshot file restores without reading it into memory first.

Older versions still restore (:mod:`finpilot.fraud._features._legacy` converts their customer
rows): versions 1 and 2 were the list-based engine's JSON; version 3 had no behaviour columns
(they restore empty, no history); versions 3 and 4 kept a customer's counters in int64 and a
uint16 day per bucket.
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
from finpilot.fraud._features._legacy import (
    V4_CUSTOMER_LAYOUT,
    customer_columns,
    customers_from_v4,
    terminal_columns,
)

if TYPE_CHECKING:
    from finpilot.fraud._features._engine import FeatureEngine, SnapshotData

MAGIC = b"\x93FPFEAT"
VERSION = 5
_READS = (3, 4, 5)  # binary versions this code restores
_HEAD = struct.Struct("<II")
_ALIGN = 64


def snapshot_parts(engine: FeatureEngine) -> Iterator[bytes | memoryview]:
    """The pieces of a version-5 snapshot, in order (the arrays as views, not copies)."""
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
    layouts = [V4_CUSTOMER_LAYOUT if version < VERSION else stores[0].layout, stores[1].layout]
    for kind, which, dtype_text, width in doc["arrays"]:
        dtype, expected = layouts[kind][which]
        if np.dtype(dtype_text) != np.dtype(dtype) or width != expected:
            raise ValueError(f"array {kind}.{which} is {dtype_text}x{width}, expected {np.dtype(dtype).str}x{expected}")
        rows = len(names[kind])
        count = rows * width
        array = np.frombuffer(view, dtype=np.dtype(dtype_text), count=count, offset=offset)
        columns[kind].append(array.reshape(rows, width))
        offset += count * array.itemsize
    convert = [customers_from_v4 if version < VERSION else None, None]
    for store, kind_names, kind_columns, kind_convert in zip(stores, names, columns, convert, strict=True):
        store.load(kind_names, kind_columns, kind_convert)
    return engine


def _restore_json(cls: type[FeatureEngine], data: bytes) -> FeatureEngine:
    doc: dict[str, Any] = orjson.loads(data)
    # Version 1 lacks the label-counted terminal history: it restores with that history empty.
    if doc.get("version") not in (1, 2):
        raise ValueError(f"unknown snapshot version {doc.get('version')!r}")
    engine = _engine(cls, doc)
    customers = doc["customers"]
    engine._customers.load(list(customers), customer_columns(list(customers.values())), customers_from_v4)
    terminals = doc["terminals"]
    engine._terminals.load(list(terminals), terminal_columns(list(terminals.values()), engine._ring))
    return engine
