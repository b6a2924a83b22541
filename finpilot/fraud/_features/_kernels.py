"""Compiled per-payment kernels over one customer row and one terminal row.

Each kernel reads and writes one entity's row of the typed blocks (column layout in
:mod:`finpilot.fraud._features._entities`) and is called once per payment, label or new entity, so
the Python side only maps ids to rows. The arithmetic is the list-based engine's, operation for
operation and in the same order (no fastmath), which is what keeps the features bit-identical.
``cache=True`` keeps the machine code on disk; :func:`warm` loads (or compiles) every kernel before
the engine serves its first payment.

All kernels stay in this one module on purpose, past the usual size: numba's cache checks only
the timestamp of the file that defines a kernel, so a kernel calling one from another module
could keep stale machine code after that module changed.
"""

from __future__ import annotations

import math
import time
from typing import Any

import numpy as np

from finpilot.fraud._features._behaviour import behaviour, init_behaviour, risk_code
from finpilot.fraud._features._entities import (
    C_AMT,
    C_AMT2,
    C_CAMT,
    C_CAMT2,
    C_CCNT,
    C_CHI,
    C_CNT,
    C_DAY,
    C_HI,
    C_KNOWN_FRAUD,
    C_LAST_TIME,
    C_LIFE_MEAN,
    C_LIFE_N,
    CUSTOMER_RING,
    HISTORY,
    LAST_LABELS,
    LIFE_MAX,
    NEVER,
    NEVER32,
    T_CFR,
    T_CLAB,
    T_CN,
    T_CRECENT,
    T_DAY,
    T_DIRTY,
    T_LAB_BITS,
    T_LAB_SEEN,
    T_LAST_FRAUD,
    T_RUN,
    T_RUN_START,
    T_SINCE_FR,
    T_SINCE_FRAUD,
    T_SINCE_LAB,
)
from finpilot.fraud._features._jit import jit, popcount

__all__ = [
    "count_at_terminal",
    "init_behaviour",
    "init_customer",
    "init_terminal",
    "reveal",
    "update_and_features",
    "warm",
]

DAY_S = 86_400
_LABEL_MASK = (1 << HISTORY) - 1
_LAST_MASK = (1 << LAST_LABELS) - 1
_U16_MAX = 0xFFFF
_NO_TIME = -(2**61)  # below it a time column still holds NEVER
# Window lengths as constants the compiler unrolls (tuples of globals are frozen at compile time).
_CW0, _CW1, _CW2 = 1, 7, 30  # CUSTOMER_WINDOWS
_HW0, _HW1, _HW2 = 1, 7, 14  # HIGH_WINDOWS
_TW = (1, 3, 7, 14, 30)  # TERMINAL_WINDOWS
_RW0, _RW1 = 1, 7  # RECENT_TERMINAL_WINDOWS


@jit
def init_customer(cf: Any, ct: Any, cu: Any, ci: Any, r: int) -> None:
    """A new customer row: no history (its visited terminals are :func:`init_behaviour`'s)."""
    cf[r, :] = 0.0
    ct[r, C_LAST_TIME] = NEVER
    ct[r, C_KNOWN_FRAUD] = NEVER
    ci[r, C_CCNT:C_DAY] = 0  # the counters: every int32 column before the last active day
    ci[r, C_DAY] = NEVER32
    cu[r, :] = 0


@jit
def init_terminal(ti: Any, tr: Any, r: int, ring: int) -> None:
    """A new terminal row: no history."""
    ti[r, :] = 0
    ti[r, T_LAST_FRAUD] = NEVER32
    ti[r, T_RUN_START] = NEVER32
    ti[r, T_SINCE_FRAUD] = -1
    ti[r, T_DAY] = NEVER32
    tr[r, :] = 0
    for s in range(ring):
        tr[r, s] = NEVER32


@jit
def _customer_advance(cf: Any, ci: Any, cu: Any, r: int, day: int) -> None:
    """Make ``day`` today: clear the buckets of the days since the last active one (today's
    included), then recompute the sums over the closed days."""
    # The skipped days' slots still hold days a ring or more older; all 30 after a month away.
    for back in range(min(day - ci[r, C_DAY], CUSTOMER_RING)):
        slot = (day - back) % CUSTOMER_RING
        cu[r, C_CNT + slot] = 0
        cu[r, C_HI + slot] = 0
        cf[r, C_AMT + slot] = 0.0
        cf[r, C_AMT2 + slot] = 0.0
    n0 = n1 = n2 = 0
    a0 = a1 = a2 = 0.0
    h0 = h1 = h2 = 0
    q = 0.0
    # An empty bucket adds +0.0, which changes no sum (each starts at +0.0, so none is -0.0): the
    # sums are bit-identical to skipping the bucket, as the list-based engine did.
    for back in range(1, CUSTOMER_RING):
        slot = (day - back) % CUSTOMER_RING
        cnt = int(cu[r, C_CNT + slot])
        amt = cf[r, C_AMT + slot]
        if back < _CW0:
            n0 += cnt
            a0 += amt
        if back < _CW1:
            n1 += cnt
            a1 += amt
        if back < _CW2:
            n2 += cnt
            a2 += amt
        q += cf[r, C_AMT2 + slot]
        hi = int(cu[r, C_HI + slot])
        if back < _HW0:
            h0 += hi
        if back < _HW1:
            h1 += hi
        if back < _HW2:
            h2 += hi
    ci[r, C_CCNT], ci[r, C_CCNT + 1], ci[r, C_CCNT + 2] = n0, n1, n2
    cf[r, C_CAMT], cf[r, C_CAMT + 1], cf[r, C_CAMT + 2] = a0, a1, a2
    ci[r, C_CHI], ci[r, C_CHI + 1], ci[r, C_CHI + 2] = h0, h1, h2
    cf[r, C_CAMT2] = q
    ci[r, C_DAY] = day


@jit
def _terminal_advance(ti: Any, tr: Any, r: int, day: int, ring: int, delay: int) -> None:
    """Make ``day`` today: recompute the closed sums and open today's bucket."""
    for k in range(T_CRECENT + 2):
        ti[r, k] = 0  # T_CN, T_CLAB, T_CFR and T_CRECENT are the first columns
    run_lab = run_fr = since_lab = since_fr = 0
    last_fraud = NEVER32
    for back in range(1, ring):
        d = day - back
        slot = d % ring
        if tr[r, slot] != d:
            continue
        n = int(tr[r, ring + slot])
        if back < _RW0:
            ti[r, T_CRECENT] += n
        if back < _RW1:
            ti[r, T_CRECENT + 1] += n
        shifted = back - delay  # 0 is the live bucket, read on each payment
        if shifted <= 0:
            continue
        lab = int(tr[r, 2 * ring + slot])
        fr = int(tr[r, 3 * ring + slot])
        for k in range(5):
            if shifted < _TW[k]:
                ti[r, T_CN + k] += n
                ti[r, T_CLAB + k] += lab
                ti[r, T_CFR + k] += fr
        if shifted < _TW[4]:
            run_lab += lab
            run_fr += fr
            if fr:
                since_lab, since_fr = run_lab, run_fr
                last_fraud = max(last_fraud, d)
    ti[r, T_SINCE_LAB], ti[r, T_SINCE_FR], ti[r, T_LAST_FRAUD] = since_lab, since_fr, last_fraud
    if ti[r, T_DAY] != day:
        slot = day % ring
        if tr[r, slot] != day:
            tr[r, slot] = day
            tr[r, ring + slot] = 0
            tr[r, 2 * ring + slot] = 0
            tr[r, 3 * ring + slot] = 0
    ti[r, T_DAY] = day
    ti[r, T_DIRTY] = 0


@jit
def count_at_terminal(ti: Any, tr: Any, r: int, day: int, ring: int, delay: int) -> int:
    """Count a payment in the terminal's bucket of ``day``; the bucket's slot."""
    if ti[r, T_DAY] != day or ti[r, T_DIRTY]:
        _terminal_advance(ti, tr, r, day, ring, delay)
    slot = day % ring
    tr[r, ring + slot] += 1
    return slot


@jit
def reveal(ti: Any, tr: Any, r: int, ring: int, delay: int, pay_day: int, fraud: bool, trisk: Any, g: int) -> None:
    """Count the now-known label of a payment made at the terminal on ``pay_day``.

    ``trisk[g]`` (``g``: the terminal's global row) gets the terminal's new risk code."""
    f = 1 if fraud else 0
    ti[r, T_LAB_BITS] = ((ti[r, T_LAB_BITS] << 1) | f) & _LABEL_MASK
    if ti[r, T_LAB_SEEN] < HISTORY:
        ti[r, T_LAB_SEEN] += 1
    if fraud:
        if not ti[r, T_RUN]:
            ti[r, T_RUN_START] = pay_day
        ti[r, T_RUN] += 1
        ti[r, T_SINCE_FRAUD] = 0
    else:
        ti[r, T_RUN] = 0
        if ti[r, T_SINCE_FRAUD] >= 0:
            ti[r, T_SINCE_FRAUD] += 1
    trisk[g] = risk_code(ti[r, T_LAB_BITS], ti[r, T_LAB_SEEN], ti[r, T_RUN])
    slot = pay_day % ring
    if tr[r, slot] != pay_day:
        return  # older than every window: nothing to count
    tr[r, 2 * ring + slot] += 1
    if fraud:
        tr[r, 3 * ring + slot] += 1
    if pay_day < ti[r, T_DAY] - delay:
        ti[r, T_DIRTY] = 1


@jit
def update_and_features(
    cf: Any,
    ct: Any,
    cu: Any,
    cr: int,
    ti: Any,
    tr: Any,
    trow: int,
    now: int,
    amount: float,
    ring: int,
    delay: int,
    large_ratio: float,
    night_hour: int,
    out: Any,
    cv: Any,
    ci: Any,
    tg: int,
    trisk: Any,
) -> None:
    """Add one payment to its customer's and terminal's rows; write its 44 features to ``out``.

    ``cf``/``ct``/``cu``/``ci`` are the customer's float64, int64, uint16 and int32 arrays, ``cv`` its
    uint16 behaviour array, ``tg`` the terminal's global row and ``trisk`` every terminal's risk
    code (to read the risk of the customer's past terminals).
    """
    day = now // DAY_S
    if ci[cr, C_DAY] != day:
        _customer_advance(cf, ci, cu, cr, day)
    slot = day % CUSTOMER_RING
    n30 = ci[cr, C_CCNT + 2] + int(cu[cr, C_CNT + slot])
    s30 = cf[cr, C_CAMT + 2] + cf[cr, C_AMT + slot]
    q30 = cf[cr, C_CAMT2] + cf[cr, C_AMT2 + slot]
    if n30:
        mean30 = s30 / n30
        ratio30 = amount / mean30 if mean30 > 0 else math.nan
        var = q30 / n30 - mean30 * mean30
        std = math.sqrt(var) if var > 0 else 0.0
        z30 = (amount - mean30) / std if std > 0 else 0.0
    else:
        ratio30 = z30 = math.nan
    life_n = int(ci[cr, C_LIFE_N])
    life_mean = cf[cr, C_LIFE_MEAN]
    life_ratio = amount / life_mean if life_n and life_mean > 0 else math.nan
    reference = ratio30 if math.isnan(life_ratio) else life_ratio  # lifetime history first
    large = 1 if reference >= large_ratio else 0  # False for NaN
    last = ct[cr, C_LAST_TIME]
    since_last = float(now - last) if last > _NO_TIME else math.nan
    known = ct[cr, C_KNOWN_FRAUD]
    since_fraud = float(now - known) if known > _NO_TIME else math.nan

    cnt = cu[cr, C_CNT + slot]
    if cnt < _U16_MAX:
        cu[cr, C_CNT + slot] = cnt + 1
    cf[cr, C_AMT + slot] += amount
    cf[cr, C_AMT2 + slot] += amount * amount
    hi = cu[cr, C_HI + slot]
    if hi < _U16_MAX:
        cu[cr, C_HI + slot] = hi + large
    if life_n < LIFE_MAX:  # past 2**31 - 1 payments the mean weighs each new one 1/LIFE_MAX
        life_n += 1
    ci[cr, C_LIFE_N] = life_n
    cf[cr, C_LIFE_MEAN] = life_mean + (amount - life_mean) / life_n
    ct[cr, C_LAST_TIME] = now
    today_n = int(cu[cr, C_CNT + slot])
    today_s = cf[cr, C_AMT + slot]
    today_hi = int(cu[cr, C_HI + slot])

    seconds = now - day * DAY_S
    out[0] = amount
    out[1] = 1.0 if (day + 3) % 7 >= 5 else 0.0  # 1970-01-01 was a Thursday
    out[2] = 1.0 if seconds // 3600 <= night_hour else 0.0
    for k in range(3):
        nb = ci[cr, C_CCNT + k] + today_n
        out[3 + k] = nb
        out[6 + k] = (cf[cr, C_CAMT + k] + today_s) / nb
    out[9] = ratio30
    out[10] = z30
    out[11] = life_ratio
    out[12] = since_last
    for k in range(3):
        out[13 + k] = ci[cr, C_CHI + k] + today_hi
    out[16] = since_fraud
    _terminal_features(ti, tr, trow, day, ring, delay, out)
    behaviour(cv, ci, cr, amount, large, day, tg, trisk, out)


@jit
def _terminal_features(ti: Any, tr: Any, r: int, day: int, ring: int, delay: int, out: Any) -> None:
    """Count the payment at its terminal and write features 17 to 36."""
    tslot = count_at_terminal(ti, tr, r, day, ring, delay)
    live = (day - delay) % ring
    if tr[r, live] == day - delay:
        live_n = int(tr[r, ring + live])
        live_lab = int(tr[r, 2 * ring + live])
        live_fr = int(tr[r, 3 * ring + live])
    else:
        live_n = live_lab = live_fr = 0
    for k in range(5):
        out[17 + k] = ti[r, T_CN + k] + live_n
        lab = ti[r, T_CLAB + k] + live_lab
        out[22 + k] = (ti[r, T_CFR + k] + live_fr) / lab if lab else 0.0
    out[27] = ti[r, T_CFR + 4] + live_fr
    c_since_fr = ti[r, T_SINCE_FR]
    if c_since_fr or live_fr:
        since_lab = live_lab + (ti[r, T_SINCE_LAB] if c_since_fr else 0)
        since_fr = live_fr + c_since_fr
        since_known = float(delay if live_fr else day - ti[r, T_LAST_FRAUD])
    else:
        since_lab, since_fr, since_known = 1, 0, math.nan
    out[28] = since_fr / since_lab
    out[29] = since_known
    today = int(tr[r, ring + tslot])
    out[30] = ti[r, T_CRECENT] + today
    out[31] = ti[r, T_CRECENT + 1] + today
    seen = ti[r, T_LAB_SEEN]
    if seen:
        bits = ti[r, T_LAB_BITS]
        out[32] = float(bits & 1)
        out[33] = popcount(bits & _LAST_MASK) / (seen if seen < LAST_LABELS else LAST_LABELS)
    else:
        out[32] = out[33] = math.nan
    run = ti[r, T_RUN]
    out[34] = run
    out[35] = float(day - ti[r, T_RUN_START]) if run else math.nan
    genuine = ti[r, T_SINCE_FRAUD]
    out[36] = float(genuine) if genuine >= 0 else math.nan


def warm() -> float:
    """Load (or compile) every kernel on a scratch row; the seconds it took."""
    from finpilot.fraud._features._entities import C_FLOATS, C_INTS, C_SMALL, C_TIMES, Q_SMALL, T_INTS, T_RINGS

    started = time.perf_counter()
    ring, delay = 38, 7
    cf = np.zeros((1, C_FLOATS), np.float64)
    ct = np.zeros((1, C_TIMES), np.int64)
    cu = np.zeros((1, C_SMALL), np.uint16)
    ti = np.zeros((1, T_INTS), np.int32)  # the dtypes of the engine's blocks, or a request would compile
    tr = np.zeros((1, T_RINGS * ring), np.int32)
    cv = np.zeros((1, Q_SMALL), np.uint16)
    ci = np.zeros((1, C_INTS), np.int32)
    trisk = np.zeros(1, np.int32)
    out = np.zeros(44, np.float64)
    init_customer(cf, ct, cu, ci, 0)
    init_behaviour(cv, ci, 0)
    init_terminal(ti, tr, 0, ring)
    update_and_features(cf, ct, cu, 0, ti, tr, 0, 10 * DAY_S, 1.0, ring, delay, 3.0, 6, out, cv, ci, 0, trisk)
    count_at_terminal(ti, tr, 0, 10, ring, delay)
    reveal(ti, tr, 0, ring, delay, 10, True, trisk, 0)
    return time.perf_counter() - started
