"""Per-entity window state: a ring of daily buckets plus sums over the closed (past) days.

Memory per entity is fixed: ``RING`` buckets whatever the traffic. Sums over the days before
today are recomputed once per entity per active day (when its first payment of a day arrives),
so a payment costs O(1) on the hot path and O(ring) once a day.
"""

from __future__ import annotations

from typing import Any

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
_HISTORY = 16  # known labels a terminal remembers, one bit each
_LABEL_BITS = (1 << _HISTORY) - 1
_V1_FIELDS = 14  # a terminal's JSON length before the label history was added

CUSTOMER_RING = 30
_NEVER = -(2**62)


class CustomerState:
    """A customer's (card's) daily buckets: payment count, amount sum, squared sum, large payments."""

    __slots__ = (
        "amt",
        "amt2",
        "c_amt",
        "c_amt2",
        "c_cnt",
        "c_hi",
        "cnt",
        "day",
        "hi",
        "known_fraud_time",
        "last_time",
        "life_mean",
        "life_n",
        "ring_day",
    )

    def __init__(self) -> None:
        self.day = _NEVER
        self.ring_day = [_NEVER] * CUSTOMER_RING
        self.cnt = [0] * CUSTOMER_RING
        self.amt = [0.0] * CUSTOMER_RING
        self.amt2 = [0.0] * CUSTOMER_RING
        self.hi = [0] * CUSTOMER_RING
        self.c_cnt = [0] * len(CUSTOMER_WINDOWS)
        self.c_amt = [0.0] * len(CUSTOMER_WINDOWS)
        self.c_amt2 = 0.0  # 30-day window only, for the z-score
        self.c_hi = [0] * len(HIGH_WINDOWS)
        self.life_n = 0
        self.life_mean = 0.0
        self.last_time = _NEVER
        self.known_fraud_time = _NEVER

    def advance(self, day: int) -> None:
        """Make ``day`` today: recompute the sums over the closed days and open today's bucket."""
        c_cnt = [0] * len(CUSTOMER_WINDOWS)
        c_amt = [0.0] * len(CUSTOMER_WINDOWS)
        c_hi = [0] * len(HIGH_WINDOWS)
        c_amt2 = 0.0
        ring_day, cnt, amt, amt2, hi = self.ring_day, self.cnt, self.amt, self.amt2, self.hi
        for back in range(1, CUSTOMER_RING):
            d = day - back
            slot = d % CUSTOMER_RING
            if ring_day[slot] != d:
                continue
            for k, w in enumerate(CUSTOMER_WINDOWS):
                if back < w:
                    c_cnt[k] += cnt[slot]
                    c_amt[k] += amt[slot]
            c_amt2 += amt2[slot]
            for k, w in enumerate(HIGH_WINDOWS):
                if back < w:
                    c_hi[k] += hi[slot]
        self.c_cnt, self.c_amt, self.c_hi, self.c_amt2 = c_cnt, c_amt, c_hi, c_amt2
        slot = day % CUSTOMER_RING
        ring_day[slot] = day
        cnt[slot] = 0
        amt[slot] = 0.0
        amt2[slot] = 0.0
        hi[slot] = 0
        self.day = day

    def to_json(self) -> list[Any]:
        """The state as a JSON-ready list (see :meth:`from_json`)."""
        return [
            self.day,
            self.ring_day,
            self.cnt,
            self.amt,
            self.amt2,
            self.hi,
            self.c_cnt,
            self.c_amt,
            self.c_amt2,
            self.c_hi,
            self.life_n,
            self.life_mean,
            self.last_time,
            self.known_fraud_time,
        ]

    @classmethod
    def from_json(cls, data: list[Any]) -> CustomerState:
        """Rebuild a state written by :meth:`to_json`."""
        state = cls()
        (
            state.day,
            state.ring_day,
            state.cnt,
            state.amt,
            state.amt2,
            state.hi,
            state.c_cnt,
            state.c_amt,
            state.c_amt2,
            state.c_hi,
            state.life_n,
            state.life_mean,
            state.last_time,
            state.known_fraud_time,
        ) = data
        return state


class TerminalState:
    """A terminal's daily buckets: payments, labelled payments and known frauds per day.

    Labelled windows end ``delay`` days before today. The bucket exactly ``delay`` days back is
    read live (labels for it are still being revealed during the day); older ones are summed
    once a day. A label that lands in an already-summed bucket marks the state ``dirty``.
    """

    __slots__ = (
        "c_fr",
        "c_lab",
        "c_last_fraud",
        "c_n",
        "c_recent",
        "c_since_fr",
        "c_since_lab",
        "day",
        "delay",
        "dirty",
        "fr",
        "lab",
        "lab_bits",
        "lab_seen",
        "n",
        "ring",
        "ring_day",
        "run",
        "run_start",
        "since_fraud",
    )

    def __init__(self, delay: int) -> None:
        self.delay = delay
        self.ring = delay + max(TERMINAL_WINDOWS) + 1
        self.day = _NEVER
        self.dirty = False
        self.ring_day = [_NEVER] * self.ring
        self.n = [0] * self.ring
        self.lab = [0] * self.ring
        self.fr = [0] * self.ring
        self.c_n = [0] * len(TERMINAL_WINDOWS)
        self.c_lab = [0] * len(TERMINAL_WINDOWS)
        self.c_fr = [0] * len(TERMINAL_WINDOWS)
        self.c_recent = [0] * len(RECENT_TERMINAL_WINDOWS)
        self.c_since_lab = 0  # known labels from the oldest known-fraud day (in the widest window) on
        self.c_since_fr = 0
        self.c_last_fraud = _NEVER  # day of the newest known fraud in the widest window
        # Counted in labels, not days: a quiet terminal's daily windows are mostly empty.
        self.lab_bits = 0  # the last 16 known labels, newest in bit 0 (1 = fraud)
        self.lab_seen = 0  # known labels so far, capped at _HISTORY
        self.run = 0  # known frauds since the newest known genuine payment
        self.run_start = _NEVER  # payment day of the oldest fraud in that run
        self.since_fraud = -1  # known genuine labels since the newest known fraud; -1 before any fraud

    def advance(self, day: int) -> None:
        """Make ``day`` today: recompute the closed sums and open today's bucket."""
        ring, delay = self.ring, self.delay
        c_n = [0] * len(TERMINAL_WINDOWS)
        c_lab = [0] * len(TERMINAL_WINDOWS)
        c_fr = [0] * len(TERMINAL_WINDOWS)
        c_recent = [0] * len(RECENT_TERMINAL_WINDOWS)
        ring_day, n, lab, fr = self.ring_day, self.n, self.lab, self.fr
        run_lab = run_fr = since_lab = since_fr = 0
        last_fraud = _NEVER
        for back in range(1, ring):
            d = day - back
            slot = d % ring
            if ring_day[slot] != d:
                continue
            for k, w in enumerate(RECENT_TERMINAL_WINDOWS):
                if back < w:
                    c_recent[k] += n[slot]
            shifted = back - delay  # 0 is the live bucket, read on each payment
            if shifted <= 0:
                continue
            for k, w in enumerate(TERMINAL_WINDOWS):
                if shifted < w:
                    c_n[k] += n[slot]
                    c_lab[k] += lab[slot]
                    c_fr[k] += fr[slot]
            if shifted < TERMINAL_WINDOWS[-1]:
                run_lab += lab[slot]
                run_fr += fr[slot]
                if fr[slot]:
                    since_lab, since_fr = run_lab, run_fr
                    last_fraud = max(last_fraud, d)
        self.c_n, self.c_lab, self.c_fr, self.c_recent = c_n, c_lab, c_fr, c_recent
        self.c_since_lab, self.c_since_fr, self.c_last_fraud = since_lab, since_fr, last_fraud
        if self.day != day:
            slot = day % ring
            if ring_day[slot] != day:
                ring_day[slot] = day
                n[slot] = lab[slot] = fr[slot] = 0
        self.day = day
        self.dirty = False

    def reveal(self, pay_day: int, fraud: bool) -> None:
        """Count the now-known label of a payment made on ``pay_day``."""
        self.lab_bits = ((self.lab_bits << 1) | fraud) & _LABEL_BITS
        if self.lab_seen < _HISTORY:
            self.lab_seen += 1
        if fraud:
            if not self.run:
                self.run_start = pay_day
            self.run += 1
            self.since_fraud = 0
        else:
            self.run = 0
            if self.since_fraud >= 0:
                self.since_fraud += 1
        slot = pay_day % self.ring
        if self.ring_day[slot] != pay_day:
            return  # older than every window: nothing to count
        self.lab[slot] += 1
        if fraud:
            self.fr[slot] += 1
        if pay_day < self.day - self.delay:
            self.dirty = True

    def to_json(self) -> list[Any]:
        """The state as a JSON-ready list (see :meth:`from_json`)."""
        return [
            self.delay,
            self.day,
            self.dirty,
            self.ring_day,
            self.n,
            self.lab,
            self.fr,
            self.c_n,
            self.c_lab,
            self.c_fr,
            self.c_recent,
            self.c_since_lab,
            self.c_since_fr,
            self.c_last_fraud,
            self.lab_bits,
            self.lab_seen,
            self.run,
            self.run_start,
            self.since_fraud,
        ]

    @classmethod
    def from_json(cls, data: list[Any]) -> TerminalState:
        """Rebuild a state written by :meth:`to_json` (a version-1 list, without the label history, too)."""
        state = cls(int(data[0]))
        if len(data) == _V1_FIELDS:
            data = [*data, state.lab_bits, state.lab_seen, state.run, state.run_start, state.since_fraud]
        (
            _,
            state.day,
            state.dirty,
            state.ring_day,
            state.n,
            state.lab,
            state.fr,
            state.c_n,
            state.c_lab,
            state.c_fr,
            state.c_recent,
            state.c_since_lab,
            state.c_since_fr,
            state.c_last_fraud,
            state.lab_bits,
            state.lab_seen,
            state.run,
            state.run_start,
            state.since_fraud,
        ) = data
        return state
