"""Streaming features: one payment in, one feature vector out, no look-ahead.

:class:`FeatureEngine` keeps per-customer and per-terminal windows of daily buckets
(:mod:`finpilot.fraud._features._entities`) and a queue of labels that are not known yet. A label given to
:meth:`FeatureEngine.observe_label` changes nothing until the stream reaches its ``known_at``
time, so a feature can only ever use labels that would have been known when the payment
arrived. Times come from the payments themselves; there is no wall clock. The whole state
snapshots to bytes (:meth:`FeatureEngine.snapshot`) and restores exactly.
"""

from __future__ import annotations

import heapq
import math
from dataclasses import dataclass
from typing import Any

import orjson

from finpilot.core import InputError
from finpilot.fraud._features._entities import (
    CUSTOMER_WINDOWS,
    HIGH_WINDOWS,
    LAST_LABELS,
    RECENT_TERMINAL_WINDOWS,
    TERMINAL_WINDOWS,
    CustomerState,
    TerminalState,
)
from finpilot.fraud._payment import DAY_S, Payment

NAN = math.nan

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

_SNAPSHOT_VERSION = 2
_LAST_MASK = (1 << LAST_LABELS) - 1


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


class FeatureEngine:
    """Per-customer and per-terminal sliding windows, updated one payment at a time."""

    def __init__(self, config: FeatureConfig | None = None) -> None:
        self.config = config or FeatureConfig()
        self._customers: dict[str, CustomerState] = {}
        self._terminals: dict[str, TerminalState] = {}
        self._pending: list[tuple[int, int, str, str, int, bool]] = []  # (known_at, seq, cust, term, day, fraud)
        self._seq = 0
        self._now = -(2**62)

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
        while pending and pending[0][0] <= now:
            _, _, customer, terminal, day, fraud = heapq.heappop(pending)
            term = self._terminals.get(terminal)
            if term is not None:
                term.reveal(day, fraud)
            if fraud:
                cust = self._customers.get(customer)
                if cust is not None:
                    cust.known_fraud_time = max(cust.known_fraud_time, day * DAY_S)

    def observe_elsewhere(self, payment: Payment) -> None:
        """Count ``payment`` in its terminal's windows only; no customer state (another partition owns it).

        A payment older than the stream's time is counted at that time (the windows only move forward).
        """
        time = max(payment.time, self._now)
        if self._pending and self._pending[0][0] <= time:
            self.advance_to(time)
        self._now = time
        day = time // DAY_S
        term = self._terminals.get(payment.terminal)
        if term is None:
            term = self._terminals[payment.terminal] = TerminalState(self.config.label_delay_days)
        if term.day != day or term.dirty:
            term.advance(day)
        term.n[day % term.ring] += 1

    def update_and_features(self, payment: Payment) -> list[float]:
        """Add ``payment`` to its customer's and terminal's windows and return its feature vector.

        The vector describes the payment against everything seen before it (the customer windows
        include the payment itself, as in the handbook) and against labels known at its time.
        """
        time = payment.time
        if time < self._now:
            raise InputError(
                f"payment {payment.tx_id} at {time} is older than the stream's time {self._now}",
                field="time",
                fix="feed payments in time order",
            )
        if self._pending and self._pending[0][0] <= time:
            self.advance_to(time)
        self._now = time
        day = time // DAY_S
        amount = payment.amount
        config = self.config
        cust = self._customers.get(payment.customer)
        if cust is None:
            cust = self._customers[payment.customer] = CustomerState()
        if cust.day != day:
            cust.advance(day)
        term = self._terminals.get(payment.terminal)
        if term is None:
            term = self._terminals[payment.terminal] = TerminalState(config.label_delay_days)
        if term.day != day or term.dirty:
            term.advance(day)

        slot = day % len(cust.ring_day)
        # History before this payment: closed days plus earlier payments today.
        n30 = cust.c_cnt[2] + cust.cnt[slot]
        s30 = cust.c_amt[2] + cust.amt[slot]
        q30 = cust.c_amt2 + cust.amt2[slot]
        if n30:
            mean30 = s30 / n30
            ratio30 = amount / mean30 if mean30 > 0 else NAN
            var = q30 / n30 - mean30 * mean30
            std = math.sqrt(var) if var > 0 else 0.0
            z30 = (amount - mean30) / std if std > 0 else 0.0
        else:
            ratio30 = z30 = NAN
        life_ratio = amount / cust.life_mean if cust.life_n and cust.life_mean > 0 else NAN
        reference = ratio30 if math.isnan(life_ratio) else life_ratio  # lifetime history first
        large = 1 if reference >= config.large_ratio else 0  # False for NaN
        since_last = float(time - cust.last_time) if cust.last_time > -(2**61) else NAN
        since_fraud = float(time - cust.known_fraud_time) if cust.known_fraud_time > -(2**61) else NAN

        cust.cnt[slot] += 1
        cust.amt[slot] += amount
        cust.amt2[slot] += amount * amount
        cust.hi[slot] += large
        cust.life_n += 1
        cust.life_mean += (amount - cust.life_mean) / cust.life_n
        cust.last_time = time
        today_n, today_s, today_hi = cust.cnt[slot], cust.amt[slot], cust.hi[slot]
        # The hot path: plain zips and no int-to-float copies (array("f") and numpy convert ints).
        nb = [c + today_n for c in cust.c_cnt]
        avg = [(s + today_s) / k for s, k in zip(cust.c_amt, nb)]  # noqa: B905 -- same lengths by construction
        nb_large = [c + today_hi for c in cust.c_hi]

        tslot = day % term.ring
        term.n[tslot] += 1
        live = (day - config.label_delay_days) % term.ring
        if term.ring_day[live] == day - config.label_delay_days:
            live_n, live_lab, live_fr = term.n[live], term.lab[live], term.fr[live]
        else:
            live_n = live_lab = live_fr = 0
        t_nb = [c + live_n for c in term.c_n]
        t_risk = [
            (f + live_fr) / (lab + live_lab) if lab + live_lab else 0.0
            for f, lab in zip(term.c_fr, term.c_lab)  # noqa: B905
        ]
        t_recent = [c + term.n[tslot] for c in term.c_recent]
        # Fraud share of the known labels since the terminal's oldest known fraud (widest window).
        if term.c_since_fr or live_fr:
            since_lab = live_lab + (term.c_since_lab if term.c_since_fr else 0)
            since_fr = live_fr + term.c_since_fr
            since_known = float(config.label_delay_days if live_fr else day - term.c_last_fraud)
        else:
            since_lab, since_fr, since_known = 1, 0, NAN

        seen = term.lab_seen
        if seen:
            bits = term.lab_bits
            last_label = float(bits & 1)
            share_last = (bits & _LAST_MASK).bit_count() / (seen if seen < LAST_LABELS else LAST_LABELS)
        else:
            last_label = share_last = NAN
        run = term.run
        run_age = float(day - term.run_start) if run else NAN
        genuine_since = float(term.since_fraud) if term.since_fraud >= 0 else NAN

        seconds = time - day * DAY_S
        weekend = 1.0 if (day + 3) % 7 >= 5 else 0.0  # 1970-01-01 was a Thursday
        night = 1.0 if seconds // 3600 <= config.night_until_hour else 0.0
        return [
            amount,
            weekend,
            night,
            *nb,
            *avg,
            ratio30,
            z30,
            life_ratio,
            since_last,
            *nb_large,
            since_fraud,
            *t_nb,
            *t_risk,
            term.c_fr[-1] + live_fr,
            since_fr / since_lab,
            since_known,
            *t_recent,
            last_label,
            share_last,
            run,
            run_age,
            genuine_since,
        ]

    def snapshot(self) -> bytes:
        """The whole state as bytes (JSON); :meth:`restore` gives back an identical engine."""
        cfg = self.config
        return orjson.dumps(
            {
                "version": _SNAPSHOT_VERSION,
                "config": [cfg.label_delay_days, cfg.large_ratio, cfg.night_until_hour],
                "now": self._now,
                "seq": self._seq,
                "pending": self._pending,
                "customers": {k: v.to_json() for k, v in self._customers.items()},
                "terminals": {k: v.to_json() for k, v in self._terminals.items()},
            }
        )

    @classmethod
    def restore(cls, data: bytes) -> FeatureEngine:
        """Rebuild an engine from :meth:`snapshot` bytes; InputError if they are not a snapshot."""
        try:
            doc: dict[str, Any] = orjson.loads(data)
            # Version 1 lacks the label-counted terminal history: it restores with that history empty.
            if doc.get("version") not in (1, _SNAPSHOT_VERSION):
                raise ValueError(f"unknown snapshot version {doc.get('version')!r}")
            delay, ratio, night = doc["config"]
            engine = cls(FeatureConfig(int(delay), float(ratio), int(night)))
            engine._now = int(doc["now"])
            engine._seq = int(doc["seq"])
            engine._pending = [(int(a), int(b), str(c), str(d), int(e), bool(f)) for a, b, c, d, e, f in doc["pending"]]
            heapq.heapify(engine._pending)
            engine._customers = {k: CustomerState.from_json(v) for k, v in doc["customers"].items()}
            engine._terminals = {k: TerminalState.from_json(v) for k, v in doc["terminals"].items()}
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise InputError(f"not a feature-engine snapshot: {exc}", field="snapshot") from exc
        return engine
