"""Streaming features: one payment in, one feature vector out, no look-ahead.

:class:`FeatureEngine` keeps per-customer and per-terminal windows of daily buckets as rows of
typed arrays (:mod:`finpilot.fraud._features._entities`, :mod:`finpilot.fraud._features._store`),
updated by compiled kernels (:mod:`finpilot.fraud._features._kernels`), and a queue of labels
that are not known yet. A label given to :meth:`FeatureEngine.observe_label` changes nothing
until the stream reaches its ``known_at`` time, so a feature can only ever use labels that would
have been known when the payment arrived. Times come from the payments themselves; there is no
wall clock. The whole state snapshots to bytes (:meth:`FeatureEngine.snapshot`) and restores exactly.
"""

from __future__ import annotations

import heapq
import mmap
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from finpilot.core import InputError
from finpilot.fraud._features import _kernels as k
from finpilot.fraud._features._behaviour import risk_codes
from finpilot.fraud._features._entities import (
    C_FLOATS,
    C_INTS,
    C_KNOWN_FRAUD,
    C_SMALL,
    C_TIMES,
    CUSTOMER_WINDOWS,
    HIGH_WINDOWS,
    LARGE_BITS,
    LAST_LABELS,
    NO_DAY16,
    Q_SMALL,
    RECENT_TERMINAL_WINDOWS,
    T_INTS,
    T_RINGS,
    TERMINAL_WINDOWS,
    terminal_ring,
)
from finpilot.fraud._features._store import BLOCK_MASK, BLOCK_ROWS, BLOCK_SHIFT, Columns, RowStore
from finpilot.fraud._payment import DAY_S, Payment

BEHAVIOUR_FEATURES: tuple[str, ...] = (
    f"cust_large_share_last_{LARGE_BITS}",
    "cust_amount_pct_hist",
    "cust_amount_over_q50_hist",
    "cust_amount_over_q90_hist",
    "cust_new_terminal",
    "cust_visited_term_risk_max",
    "cust_visited_term_fraud_runs",
)
"""The customer-behaviour and terminal-to-customer features (issue 13), the last 7 of the vector."""

FEATURE_NAMES: tuple[str, ...] = (
    "amount",
    "is_weekend",
    "is_night",
    *(f"cust_nb_tx_{w}d" for w in CUSTOMER_WINDOWS),
    *(f"cust_avg_amount_{w}d" for w in CUSTOMER_WINDOWS),
    "cust_amount_ratio_30d",
    "cust_amount_z_30d",
    "cust_amount_ratio_life",
    "cust_secs_since_last",
    *(f"cust_nb_large_{w}d" for w in HIGH_WINDOWS),
    "cust_secs_since_known_fraud",
    *(f"term_nb_tx_delay_{w}d" for w in TERMINAL_WINDOWS),
    *(f"term_risk_delay_{w}d" for w in TERMINAL_WINDOWS),
    f"term_nb_fraud_delay_{max(TERMINAL_WINDOWS)}d",
    "term_risk_since_known_fraud",
    "term_days_since_known_fraud",
    *(f"term_nb_tx_{w}d" for w in RECENT_TERMINAL_WINDOWS),
    "term_last_label_fraud",
    f"term_fraud_share_last_{LAST_LABELS}",
    "term_known_fraud_run",
    "term_fraud_run_age_days",
    "term_genuine_since_known_fraud",
    *BEHAVIOUR_FEATURES,
)
"""The names of the vector :meth:`FeatureEngine.update_and_features` returns, in order."""

BOOK_FEATURES: tuple[str, ...] = (
    "amount",
    "is_weekend",
    "is_night",
    *(f"cust_nb_tx_{w}d" for w in CUSTOMER_WINDOWS),
    *(f"cust_avg_amount_{w}d" for w in CUSTOMER_WINDOWS),
    *(f"term_nb_tx_delay_{w}d" for w in (1, 7, 30)),
    *(f"term_risk_delay_{w}d" for w in (1, 7, 30)),
)
"""The handbook's own 15 features (the subset the published models used)."""

_LAST_TIME = NO_DAY16 * DAY_S  # a customer's uint16 visited-terminal days must stay below NO_DAY16
SnapshotData = bytes | bytearray | memoryview | mmap.mmap


class Writable(Protocol):
    """Where :meth:`FeatureEngine.snapshot_to` writes: a binary file, or anything with its ``write``."""

    def write(self, data: bytes | memoryview, /) -> int:
        """Write all of ``data``; the count written."""
        ...


"""What :meth:`FeatureEngine.restore` reads: a snapshot's bytes, or a view or mmap of them."""
Pending = tuple[int, int, str, str, int, bool]  # (known_at, seq, customer, terminal, pay day, fraud)


@dataclass(frozen=True)
class FeatureConfig:
    """Hyper-parameters of the feature engine.

    ``label_delay_days``: how long after a payment its label becomes known (and the shift of
    the terminal windows). ``large_ratio``: a payment at least this many times the customer's
    own mean amount counts as large. ``night_until_hour``: payments before the end of this UTC
    hour count as night-time.
    """

    label_delay_days: int = 7
    large_ratio: float = 3.0
    night_until_hour: int = 6


def _init_customer(cols: Columns, row: int) -> None:
    k.init_customer(cols[0], cols[1], cols[2], cols[4], row)
    k.init_behaviour(cols[3], cols[4], row)


CUSTOMER_LAYOUT: tuple[tuple[type[np.generic], int], ...] = (
    (np.float64, C_FLOATS),
    (np.int64, C_TIMES),
    (np.uint16, C_SMALL),
    (np.uint16, Q_SMALL),  # behaviour columns, added in snapshot version 4
    (np.int32, C_INTS),  # counters and the last active day (int64 before version 5), visited terminals
)
"""A customer row's arrays: (dtype, width) of each."""


class FeatureEngine:
    """Per-customer and per-terminal sliding windows, updated one payment at a time.

    Creating one loads the compiled kernels (from numba's on-disk cache, or compiles them on the
    first run after an install), so no payment ever waits for a compiler.
    """

    def __init__(self, config: FeatureConfig | None = None) -> None:
        self.config = config or FeatureConfig()
        if self.config.label_delay_days < 0:
            raise InputError("the label delay cannot be negative", field="label_delay_days", fix="e.g. 7")
        _warm_once()
        self._ring = ring = terminal_ring(self.config.label_delay_days)
        self._customers = RowStore(CUSTOMER_LAYOUT, _init_customer)
        self._terminals = RowStore(
            ((np.int32, T_INTS), (np.int32, T_RINGS * ring)),
            lambda cols, row: k.init_terminal(cols[0], cols[1], row, ring),
        )
        self._pending: list[Pending] = []
        self._seq = 0
        self._now = -(2**62)
        self._out = np.zeros(len(FEATURE_NAMES), np.float64)
        # Each terminal's known-label risk packed in one int32, by terminal row: derived from the
        # terminal rows (so not in snapshots), kept flat so a payment's kernel can read the risk of
        # the card's past terminals. A typed list of the blocks cost ~7 us a call to pass.
        self._trisk = np.zeros(BLOCK_ROWS, np.int32)

    def _terminal_row(self, terminal: str) -> int:
        """The terminal's row, created (with an empty risk code) if new."""
        terminals = self._terminals
        t = terminals.ids.get(terminal)
        if t is None:
            t = terminals.add(terminal)
            if t >= self._trisk.shape[0]:
                self._trisk = np.concatenate([self._trisk, np.zeros_like(self._trisk)])
        return t

    def _rebuild_risk(self) -> None:
        """Recompute every terminal's risk code from its rows (after a restore)."""
        count = len(self._terminals)
        self._trisk = np.zeros(max(BLOCK_ROWS, 1 << max(count - 1, 1).bit_length()), np.int32)
        start = 0
        for chunk in self._terminals.column_chunks(0):
            rows = chunk.shape[0]
            self._trisk[start : start + rows] = risk_codes(chunk)
            start += rows

    @property
    def pending_labels(self) -> int:
        """Labels observed but not yet known at the stream's current time."""
        return len(self._pending)

    @property
    def now(self) -> int:
        """The stream's current time (epoch seconds): the latest payment or label reveal seen; 0 before any."""
        return max(self._now, 0)

    @property
    def entities(self) -> tuple[int, int]:
        """How many customers and terminals have state."""
        return len(self._customers), len(self._terminals)

    def allocated_bytes(self) -> int:
        """Bytes of the row blocks (capacity, used or not): about what a snapshot copies."""
        return self._customers.nbytes() + self._terminals.nbytes()

    def observe_label(self, payment: Payment, fraud: bool, *, known_at: int | None = None) -> None:
        """Queue ``payment``'s label; it is used from ``known_at`` on (default: payment time + delay)."""
        when = payment.time + self.config.label_delay_days * DAY_S if known_at is None else known_at
        self._seq += 1
        heapq.heappush(self._pending, (when, self._seq, payment.customer, payment.terminal, payment.day, fraud))

    def advance_to(self, now: int) -> None:
        """Reveal every queued label known by ``now`` (seconds since the epoch)."""
        if now < self._now:
            return
        self._now = now
        pending = self._pending
        terminals, customers = self._terminals, self._customers
        ring, delay = self._ring, self.config.label_delay_days
        while pending and pending[0][0] <= now:
            _, _, customer, terminal, day, fraud = heapq.heappop(pending)
            t = terminals.ids.get(terminal)
            if t is not None:
                cols = terminals.blocks[t >> BLOCK_SHIFT]
                k.reveal(cols[0], cols[1], t & BLOCK_MASK, ring, delay, day, bool(fraud), self._trisk, t)
            if fraud:
                c = customers.ids.get(customer)
                if c is not None:
                    ints = customers.blocks[c >> BLOCK_SHIFT][1]
                    row = c & BLOCK_MASK
                    ints[row, C_KNOWN_FRAUD] = max(int(ints[row, C_KNOWN_FRAUD]), day * DAY_S)

    def _clock(self, payment: Payment) -> int:
        """Move the stream's clock to ``payment``'s time (revealing due labels); the time."""
        time = payment.time
        if time < self._now:
            raise InputError(
                f"payment {payment.tx_id} at {time} is older than the stream's time {self._now}",
                field="time",
                fix="feed payments in time order",
            )
        if not 0 <= time < _LAST_TIME:
            raise InputError(
                f"payment {payment.tx_id} has time {time}, outside 1970 to 2149",
                field="time",
                fix="give seconds since 1970-01-01 UTC",
            )
        if self._pending and self._pending[0][0] <= time:
            self.advance_to(time)
        self._now = time
        return time

    def update_and_features(self, payment: Payment) -> list[float]:
        """Add ``payment`` to its customer's and terminal's windows and return its feature vector.

        The vector describes the payment against everything seen before it (the customer windows
        include the payment itself, as in the handbook) and against labels known at its time.
        """
        time = self._clock(payment)
        customers, terminals = self._customers, self._terminals
        c = customers.ids.get(payment.customer)
        if c is None:
            c = customers.add(payment.customer)
        t = self._terminal_row(payment.terminal)
        cc = customers.blocks[c >> BLOCK_SHIFT]
        tc = terminals.blocks[t >> BLOCK_SHIFT]
        config = self.config
        k.update_and_features(
            cc[0], cc[1], cc[2], c & BLOCK_MASK, tc[0], tc[1], t & BLOCK_MASK, time, float(payment.amount),
            self._ring, config.label_delay_days, config.large_ratio, config.night_until_hour, self._out,
            cc[3], cc[4], t, self._trisk,
        )  # fmt: skip
        return self._out.tolist()

    def observe_elsewhere(self, payment: Payment) -> None:
        """Count ``payment``, scored by another partition, in its terminal's windows only.

        It is exactly the terminal side of :meth:`update_and_features` (the stream's clock moves
        and due labels are revealed) and creates no customer state, so an engine that owns only
        some customers still sees every terminal's full traffic.
        """
        time = self._clock(payment)
        terminals = self._terminals
        t = self._terminal_row(payment.terminal)
        tc = terminals.blocks[t >> BLOCK_SHIFT]
        k.count_at_terminal(tc[0], tc[1], t & BLOCK_MASK, time // DAY_S, self._ring, self.config.label_delay_days)

    def snapshot(self) -> bytes:
        """The whole state as bytes (binary, version 5); :meth:`restore` gives back an identical engine."""
        from finpilot.fraud._features._snapshot import snapshot_parts

        return b"".join(snapshot_parts(self))

    def snapshot_to(self, file: Writable) -> int:
        """Write :meth:`snapshot`'s bytes to ``file`` without holding them all in memory; bytes written."""
        from finpilot.fraud._features._snapshot import snapshot_parts

        written = 0
        for part in snapshot_parts(self):
            written += file.write(part)
        return written

    @classmethod
    def restore(cls, data: SnapshotData) -> FeatureEngine:
        """Rebuild an engine from :meth:`snapshot` bytes (versions 3 to 5, or the JSON of versions 1 and 2).

        ``data`` may be any buffer (bytes, a memoryview, an mmap of a snapshot file). An
        :class:`InputError` if it is not a snapshot.
        """
        from finpilot.fraud._features._snapshot import restore

        engine = restore(cls, data)
        engine._rebuild_risk()
        return engine


_warmed: list[float] = []


def _warm_once() -> None:
    if not _warmed:
        _warmed.append(k.warm())


def kernel_load_seconds() -> float | None:
    """How long this process took to load or compile the kernels (None before the first engine)."""
    return _warmed[0] if _warmed else None
