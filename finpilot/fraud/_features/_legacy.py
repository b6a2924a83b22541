"""Older snapshot layouts, converted on restore to the current rows (:mod:`._snapshot` reads them).

Versions 1 and 2 were JSON documents of per-entity lists (the list-based engine); versions 3 and 4
were binary with a customer's counters and last active day in its int64 array and a uint16 day
per bucket. Everything older is first built, or read, as version-4 customer arrays, and
:func:`customers_from_v4` turns those into the current layout, so there is one conversion
whatever the version.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from finpilot.fraud._features._entities import (
    C_AMT,
    C_AMT2,
    C_CCNT,
    C_CHI,
    C_DAY,
    C_FLOATS,
    C_INTS,
    C_LIFE_N,
    CUSTOMER_RING,
    LIFE_MAX,
    NEVER,
    NEVER32,
    NO_DAY16,
    NO_ROW,
    Q_SMALL,
    Q_VISIT_ROW,
    T_INTS,
    T_RINGS,
    VISITS,
)

Arrays = list[npt.NDArray[Any]]

# A version-4 customer's arrays, frozen here (the current layout may move on): float64 as today,
# int64 counters and times, uint16 bucket days and daily rings, uint16 behaviour, int32 visits.
_V4_CCNT = 0  # 3 closed-day counts, then 3 closed-day large-payment counts
_V4_LIFE_N = 6
_V4_LAST_TIME = 7
_V4_KNOWN_FRAUD = 8
_V4_DAY = 9
_V4_INTS = 10
_V4_CNT = CUSTOMER_RING  # the uint16 bucket days come first, then the counts and large counts
_V4_SMALL = 3 * CUSTOMER_RING
V4_CUSTOMER_LAYOUT: tuple[tuple[type[np.generic], int], ...] = (
    (np.float64, C_FLOATS),
    (np.int64, _V4_INTS),
    (np.uint16, _V4_SMALL),
    (np.uint16, Q_SMALL),
    (np.int32, VISITS),
)
"""A version-4 customer's arrays; version 3 had the first three."""
_V1_TERMINAL = 14  # a terminal's JSON length before the label history was added


def customers_from_v4(columns: Arrays) -> Arrays:
    """Version-4 customer arrays (or version 3's first three) in the current layout (new arrays)."""
    floats, old, small = columns[:3]
    rows = floats.shape[0]
    floats, small = _live_buckets(floats, small, old[:, _V4_DAY])
    behaviour, visits = columns[3:] or (np.zeros((rows, Q_SMALL), np.uint16), np.full((rows, VISITS), NO_ROW, np.int32))
    times = np.ascontiguousarray(old[:, [_V4_LAST_TIME, _V4_KNOWN_FRAUD]])
    ints = np.empty((rows, C_INTS), np.int32)
    # Closed-day counters sum at most 29 uint16 days and always fit; the lifetime count saturates
    # as the kernel's does, and "never" becomes the int32 one.
    ints[:, C_CCNT : C_CCNT + 3] = old[:, _V4_CCNT : _V4_CCNT + 3]
    ints[:, C_CHI : C_CHI + 3] = old[:, _V4_CCNT + 3 : _V4_CCNT + 6]
    ints[:, C_LIFE_N] = np.minimum(old[:, _V4_LIFE_N], LIFE_MAX)
    ints[:, C_DAY] = np.where(old[:, _V4_DAY] == NEVER, NEVER32, old[:, _V4_DAY])
    ints[:, Q_VISIT_ROW : Q_VISIT_ROW + VISITS] = visits
    return [floats, times, small, behaviour, ints]


def _live_buckets(
    floats: npt.NDArray[Any], small: npt.NDArray[Any], last_day: npt.NDArray[np.int64]
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.uint16]]:
    """The float64 columns with the amounts of dead buckets zeroed, and the uint16 ring without
    its day column, its dead buckets zeroed too: the current rows tell a live bucket by being
    non-empty. A bucket is live if its day is the one of its slot among the 30 up to the last
    active day; any other (older, or NO_DAY16) is one the version-4 engine would never read again.
    """
    days = small[:, :_V4_CNT].astype(np.int64)
    slots = np.arange(CUSTOMER_RING)
    live = (days <= last_day[:, None]) & (days > last_day[:, None] - CUSTOMER_RING) & (days % CUSTOMER_RING == slots)
    both = np.hstack([live, live])  # two rings side by side: amounts and squares, counts and large counts
    out = np.array(floats, dtype=np.float64)
    out[:, C_AMT : C_AMT2 + CUSTOMER_RING] = np.where(both, floats[:, C_AMT : C_AMT2 + CUSTOMER_RING], 0.0)
    return out, np.where(both, small[:, _V4_CNT:], 0).astype(np.uint16)


def _days16(ring_day: list[int]) -> list[int]:
    out = [NO_DAY16 if d == NEVER else int(d) for d in ring_day]
    if any(not 0 <= d <= NO_DAY16 for d in out):
        raise ValueError("a bucket day is outside 1970 to 2149")
    return out


def customer_columns(rows: list[list[Any]]) -> Arrays:
    """The version-4 customer arrays of a version-1 or -2 JSON snapshot's customer lists."""
    floats = np.zeros((len(rows), C_FLOATS), np.float64)
    ints = np.zeros((len(rows), _V4_INTS), np.int64)
    small = np.zeros((len(rows), _V4_SMALL), np.uint16)
    for i, row in enumerate(rows):
        day, ring_day, cnt, amt, amt2, hi, c_cnt, c_amt, c_amt2, c_hi, life_n, life_mean, last, known = row
        if len(ring_day) != CUSTOMER_RING:
            raise ValueError("a customer ring has the wrong length")
        floats[i] = [*amt, *amt2, *c_amt, c_amt2, life_mean]
        ints[i] = [*c_cnt, *c_hi, life_n, last, known, day]
        small[i] = [*_days16(ring_day), *(min(c, NO_DAY16) for c in cnt), *(min(h, NO_DAY16) for h in hi)]
    return [floats, ints, small]


def terminal_columns(rows: list[list[Any]], ring: int) -> Arrays:
    """The terminal arrays of a version-1 or -2 JSON snapshot's terminal lists."""
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
