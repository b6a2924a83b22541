"""Compiled kernels of the customer-behaviour and terminal-to-customer features (issue 13).

Called from :func:`finpilot.fraud._features._kernels.update_and_features` once per payment, over the
customer's behaviour columns (layout in :mod:`finpilot.fraud._features._entities`): a 16-bit history
of large payments, a log-amount histogram, and the card's last distinct terminals, whose current
known risk is read from a flat array of per-terminal risk codes (:func:`risk_code`).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import numpy.typing as npt

from finpilot.fraud._features._entities import (
    HIST_BINS,
    HIST_CAP,
    HIST_OFFSET,
    LARGE_BITS,
    LAST_LABELS,
    NO_ROW,
    Q_BITS,
    Q_HIST,
    Q_SEEN,
    Q_TOTAL,
    Q_VISIT_DAY,
    Q_VISIT_ROW,
    T_LAB_BITS,
    T_LAB_SEEN,
    T_RUN,
    VISIT_DAYS,
    VISITS,
)
from finpilot.fraud._features._jit import jit, popcount

_LARGE_MASK = (1 << LARGE_BITS) - 1
_LAST_MASK = (1 << LAST_LABELS) - 1


@jit
def init_behaviour(cv: Any, ci: Any, r: int) -> None:
    """A customer's behaviour columns with no history (also what version-3 snapshots restore to)."""
    cv[r, :] = 0
    for i in range(VISITS):
        ci[r, Q_VISIT_ROW + i] = NO_ROW


@jit
def _bin_of(amount: float) -> tuple[int, float]:
    """The histogram bin of ``amount`` and its position within the bin (0 to 1)."""
    if amount <= 0:
        return 0, 0.0
    x = 2.0 * math.log2(amount) + HIST_OFFSET
    b = math.floor(x)
    if b < 0:
        return 0, 0.0
    if b >= HIST_BINS:
        return HIST_BINS - 1, 1.0
    return int(b), x - b


@jit
def _quantile(cv: Any, r: int, total: int, q: float) -> float:
    """The amount at quantile ``q`` of the histogram (log-linear within the bin)."""
    target = q * total
    cum = 0.0
    for b in range(HIST_BINS):
        c = int(cv[r, Q_HIST + b])
        if c and cum + c >= target:
            f = (target - cum) / c
            return math.pow(2.0, (b + f - HIST_OFFSET) / 2.0)
        cum += c
    return math.pow(2.0, (HIST_BINS - HIST_OFFSET) / 2.0)


@jit
def risk_code(bits: int, seen: int, run: int) -> int:
    """A terminal's known-label risk in one int32: its last 10 label bits, how many (<= 10), a run flag."""
    return (bits & _LAST_MASK) | (min(seen, LAST_LABELS) << LAST_LABELS) | ((1 if run else 0) << (LAST_LABELS + 4))


def risk_codes(ints: npt.NDArray[Any]) -> npt.NDArray[np.int32]:
    """:func:`risk_code` of every row of a terminal block's int32 columns (vectorised, for a restore)."""
    seen = np.minimum(ints[:, T_LAB_SEEN], LAST_LABELS)
    run = (ints[:, T_RUN] != 0).astype(np.int32)
    codes = (ints[:, T_LAB_BITS] & _LAST_MASK) | (seen << LAST_LABELS) | (run << (LAST_LABELS + 4))
    return np.asarray(codes, dtype=np.int32)


@jit
def _terminal_risk(trisk: Any, g: int) -> tuple[float, int]:
    """A terminal's known fraud share over its last known labels, and whether it is in a run of frauds."""
    code = trisk[g]
    seen = (code >> LAST_LABELS) & 15
    if not seen:
        return 0.0, 0
    return popcount(code & _LAST_MASK) / seen, (code >> (LAST_LABELS + 4)) & 1


@jit
def behaviour(cv: Any, ci: Any, r: int, amount: float, large: int, day: int, tg: int, trisk: Any, out: Any) -> None:
    """Features 37 to 43: the customer's recent large payments, amount against its own
    histogram, whether the terminal is new to it, and the known risk of its recent terminals.
    Reads the history before this payment (the large bits include it), then adds the payment."""
    bits = ((int(cv[r, Q_BITS]) << 1) | large) & _LARGE_MASK
    seen = min(int(cv[r, Q_SEEN]) + 1, LARGE_BITS)
    cv[r, Q_BITS], cv[r, Q_SEEN] = bits, seen
    out[37] = popcount(bits) / seen
    total = int(cv[r, Q_TOTAL])
    known = total > 0
    b, within = _bin_of(amount)
    if known:
        below = 0
        for i in range(b):
            below += int(cv[r, Q_HIST + i])
        out[38] = (below + within * int(cv[r, Q_HIST + b])) / total
        out[39] = amount / _quantile(cv, r, total, 0.5)
        out[40] = amount / _quantile(cv, r, total, 0.9)
    else:
        out[38] = out[39] = out[40] = math.nan
    if total >= HIST_CAP:
        total = 0
        for i in range(HIST_BINS):
            cv[r, Q_HIST + i] >>= 1
            total += int(cv[r, Q_HIST + i])
    cv[r, Q_HIST + b] += 1
    cv[r, Q_TOTAL] = total + 1
    # Terminal-to-customer risk: what is known now about the terminals this card used lately.
    found = VISITS - 1
    others = 0
    risk = 0.0
    running = 0
    for i in range(VISITS):
        g = ci[r, Q_VISIT_ROW + i]
        if g == NO_ROW:
            continue
        if g == tg:
            found = i
            continue
        if day - int(cv[r, Q_VISIT_DAY + i]) >= VISIT_DAYS:
            continue
        others += 1
        share, run = _terminal_risk(trisk, g)
        risk = max(risk, share)
        if run:
            running += 1
    if known:
        out[41] = 0.0 if ci[r, Q_VISIT_ROW + found] == tg else 1.0
        out[42] = risk if others else math.nan
    else:
        out[41] = out[42] = math.nan
    out[43] = running
    for i in range(found, 0, -1):  # move the terminal to the front (most recent first)
        ci[r, Q_VISIT_ROW + i] = ci[r, Q_VISIT_ROW + i - 1]
        cv[r, Q_VISIT_DAY + i] = cv[r, Q_VISIT_DAY + i - 1]
    ci[r, Q_VISIT_ROW] = tg
    cv[r, Q_VISIT_DAY] = day
