"""Per-entity window state as fixed-width rows of typed columns: a ring of daily buckets plus sums.

A customer (card) is one row of five 2-D arrays: float64 amounts (520 bytes), int64 times (16),
uint16 daily counts (120), uint16 behaviour columns (78) and int32 counters, last day and visited
terminals (64): 798 bytes. A terminal is one row of two int32 arrays (716 bytes with the default
7-day delay). Rows live in blocks
(:mod:`finpilot.fraud._features._store`), so the state is a handful of numpy arrays whatever the
number of entities: nothing per entity for the garbage collector to walk.

Sums over the days before today are recomputed once per entity per active day (when its first
payment of a day arrives), so a payment costs O(1) on the hot path and O(ring) once a day. Amounts
stay float64 and are summed in the same order as the list-based engine did, so every feature is
bit-identical to it. A customer's daily counts are uint16 and saturate at 65,535 payments a day,
and its lifetime count is int32 and saturates at :data:`LIFE_MAX` (one card; the only places where
the columnar state could differ from unbounded integers).
"""

from __future__ import annotations

CUSTOMER_WINDOWS = (1, 7, 30)
"""Days covered by the customer count and mean-amount windows (today included)."""
HIGH_WINDOWS = (1, 7, 14)
"""Days covered by the customer's count of unusually large payments."""
TERMINAL_WINDOWS = (1, 3, 7, 14, 30)
"""Days covered by the terminal's labelled windows, which end ``delay`` days before today."""
RECENT_TERMINAL_WINDOWS = (1, 7)
"""Days covered by the terminal's unshifted payment counts (today included)."""
LAST_LABELS = 10
"""How many of a terminal's most recently known labels the payment-counted fraud share covers."""
HISTORY = 16
"""Known labels a terminal remembers, one bit each."""

CUSTOMER_RING = 30
"""Daily buckets per customer."""
NEVER = -(2**62)
"""A time or day that has not happened (int64 columns)."""
NEVER32 = -(2**31)
"""A day that has not happened (int32 day columns)."""
NO_DAY16 = 0xFFFF
"""Days must stay below it (year 2149): a customer's visited-terminal days are uint16 (and so were
its buckets' days, an unused bucket's being NO_DAY16, up to snapshot version 4)."""

# Customer float64 columns.
C_AMT = 0  # ring: amount sums
C_AMT2 = C_AMT + CUSTOMER_RING  # ring: squared amount sums
C_CAMT = C_AMT2 + CUSTOMER_RING  # closed-day amount sums per CUSTOMER_WINDOWS
C_CAMT2 = C_CAMT + len(CUSTOMER_WINDOWS)  # closed-day squared sum over the 30-day window
C_LIFE_MEAN = C_CAMT2 + 1
C_FLOATS = C_LIFE_MEAN + 1
# Customer int64 columns: times only (seconds need more than 32 bits; NEVER before any).
C_LAST_TIME = 0
C_KNOWN_FRAUD = C_LAST_TIME + 1
C_TIMES = C_KNOWN_FRAUD + 1
# Customer uint16 columns (rings). Slot ``d % CUSTOMER_RING`` holds day d of the 30 up to the last
# active day (C_DAY), or zeros if the customer paid nothing that day: the slots of the days it
# skipped are cleared on its next active day, so a bucket needs no day of its own.
C_CNT = 0
C_HI = C_CNT + CUSTOMER_RING
C_SMALL = C_HI + CUSTOMER_RING

# Customer behaviour columns (uint16): the large-payment bits of its last payments, a log-amount
# histogram, and the days of its last distinct terminals (whose rows are in the int32 array).
LARGE_BITS = 16
"""How many of a customer's last payments the large-payment share covers (one bit each)."""
HIST_BINS = 28
"""Bins of the customer's amount histogram: half-octaves of the amount from 2**-2 to 2**12 (clamped)."""
HIST_OFFSET = 4  # bin b holds amounts in [2**((b - 4) / 2), 2**((b - 3) / 2))
HIST_CAP = 1024  # at this many counted payments every bin is halved: recent history weighs more
VISITS = 8
"""Distinct terminals a customer remembers (the most recent first), for terminal-to-customer risk."""
VISIT_DAYS = 30
"""A remembered terminal counts towards the customer's exposure while its visit is this recent."""
Q_BITS = 0
Q_SEEN = 1
Q_TOTAL = 2
Q_HIST = 3
Q_VISIT_DAY = Q_HIST + HIST_BINS
Q_SMALL = Q_VISIT_DAY + VISITS

# Customer int32 columns: counters, the last active day, then the behaviour's visited-terminal rows.
# The closed-day sums cover at most 29 days of uint16 counts (under 2**21), so 32 bits hold them.
C_CCNT = 0  # closed-day counts per CUSTOMER_WINDOWS
C_CHI = C_CCNT + len(CUSTOMER_WINDOWS)  # closed-day large-payment counts per HIGH_WINDOWS
C_LIFE_N = C_CHI + len(HIGH_WINDOWS)  # lifetime payments, saturating at LIFE_MAX
C_DAY = C_LIFE_N + 1  # the last active day; NEVER32 before the first payment
Q_VISIT_ROW = C_DAY + 1  # the terminal's row (the same in every partition: each sees every payment)
C_INTS = Q_VISIT_ROW + VISITS
LIFE_MAX = 2**31 - 1
"""Where a customer's lifetime payment count stops (its running mean then weighs new payments 1/LIFE_MAX)."""
NO_ROW = -1
"""An empty visited-terminal slot."""

# Terminal int32 columns (counts over at most 30 days, days, and the label history).
T_CN = 0  # closed labelled-window payment counts per TERMINAL_WINDOWS
T_CLAB = T_CN + len(TERMINAL_WINDOWS)
T_CFR = T_CLAB + len(TERMINAL_WINDOWS)
T_CRECENT = T_CFR + len(TERMINAL_WINDOWS)  # per RECENT_TERMINAL_WINDOWS
T_SINCE_LAB = T_CRECENT + len(RECENT_TERMINAL_WINDOWS)  # labels from the oldest known-fraud day on
T_SINCE_FR = T_SINCE_LAB + 1
T_LAST_FRAUD = T_SINCE_FR + 1  # day of the newest known fraud in the widest window
T_LAB_BITS = T_LAST_FRAUD + 1  # the last HISTORY known labels, newest in bit 0 (1 = fraud)
T_LAB_SEEN = T_LAB_BITS + 1  # known labels so far, capped at HISTORY
T_RUN = T_LAB_SEEN + 1  # known frauds since the newest known genuine payment
T_RUN_START = T_RUN + 1  # payment day of the oldest fraud in that run
T_SINCE_FRAUD = T_RUN_START + 1  # known genuine labels since the newest known fraud; -1 before any
T_DAY = T_SINCE_FRAUD + 1
T_DIRTY = T_DAY + 1  # a label landed in an already-summed bucket
T_INTS = T_DIRTY + 1
# Terminal int32 columns: four rings of terminal_ring(delay) buckets each.
T_RINGS = 4  # day, payments, labelled payments, known frauds


def terminal_ring(delay: int) -> int:
    """Daily buckets per terminal: the labelled windows end ``delay`` days back."""
    return delay + max(TERMINAL_WINDOWS) + 1
