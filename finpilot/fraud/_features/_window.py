"""Labelled windows: payments with their feature vectors and labels, from a CSV or from live decisions.

:func:`window_from_table` replays a payment CSV from its start through the live feature code
and keeps the rows of a date window; :class:`LabelBuffer` watches a live service and keeps the
feature vector of each decision until its late label arrives. Retraining and the drift report
read either the same way.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from finpilot.core import InputError
from finpilot.fraud._csv import PaymentTable
from finpilot.fraud._features._engine import FEATURE_NAMES, FeatureConfig, FeatureEngine
from finpilot.fraud._payment import DAY_S, Payment
from finpilot.fraud._policy import FraudDecision
from finpilot.fraud._replay._stream import day_text, stream_features
from finpilot.fraud._scorer import Score


def parse_day(text: str, name: str) -> int:
    """A ``YYYY-MM-DD`` option as a UTC day number; an :class:`InputError` naming ``name`` if bad."""
    try:
        return (dt.date.fromisoformat(text) - dt.date(1970, 1, 1)).days
    except ValueError:
        raise InputError(
            f"{name} must be a date (YYYY-MM-DD), not {text!r}", field=name, fix="e.g. 2018-04-01"
        ) from None


@dataclass(frozen=True)
class LabelledWindow:
    """Labelled payments in time order, with the feature vectors they were (or would have been) scored on."""

    features: npt.NDArray[np.float32]
    """One row per payment, in ``FEATURE_NAMES`` order."""
    times: npt.NDArray[np.int64]
    customers: Sequence[str]
    labels: npt.NDArray[np.int8]

    def __len__(self) -> int:
        return int(self.times.shape[0])


def window_from_table(table: PaymentTable, *, start: str | None = None, end: str | None = None) -> LabelledWindow:
    """The rows of ``table`` from ``start`` to ``end`` (inclusive dates; default: all).

    Features are streamed from the table's first row, so the window's rows see their history.
    """
    if len(table) == 0:
        raise InputError("the CSV has no payments", field="csv")
    days = table.times // DAY_S
    first = parse_day(start, "from") if start is not None else int(days[0])
    last = parse_day(end, "to") if end is not None else int(days[-1])
    if first > last:
        raise InputError("the window starts after it ends", field="from", fix="give --from before --to")
    keep = (days >= first) & (days <= last)
    if not keep.any():
        raise InputError(
            f"no payments between {day_text(first)} and {day_text(last)}",
            field="from",
            fix=f"the CSV covers {day_text(int(days[0]))} to {day_text(int(days[-1]))}",
        )
    stop = int(np.searchsorted(days, last, side="right"))
    streamed = stream_features(table, FeatureEngine(FeatureConfig()), keep, stop_row=stop)
    rows = streamed.rows
    return LabelledWindow(
        streamed.features, table.times[rows], [table.customers[i] for i in rows.tolist()], table.frauds[rows]
    )


class LabelBuffer:
    """A decision observer (``DecisionObserver``): decisions plus late labels make a :class:`LabelledWindow`.

    It keeps the last ``capacity`` decisions' feature vectors; a label for one of them makes it
    a training row. Payments never labelled are left out (no label is assumed).
    """

    def __init__(self, capacity: int = 200_000) -> None:
        if capacity < 1:
            raise InputError("capacity must be at least 1", field="capacity")
        self._capacity = capacity
        self._lock = threading.Lock()
        self._rows: OrderedDict[str, tuple[Sequence[float], int, str, int | None]] = OrderedDict()

    def on_decision(self, payment: Payment, verdict: Score, decision: FraudDecision, audit_index: int) -> None:
        """Keep the payment's feature vector until its label arrives (a decision without one is no training row)."""
        if len(verdict.features) == 0:
            return
        with self._lock:
            self._rows[payment.tx_id] = (verdict.features, payment.time, payment.customer, None)
            while len(self._rows) > self._capacity:
                self._rows.popitem(last=False)

    def on_label(self, payment: Payment, fraud: bool, source: str, audit_index: int) -> None:
        """Attach the label (the latest one wins)."""
        with self._lock:
            row = self._rows.get(payment.tx_id)
            if row is not None:
                self._rows[payment.tx_id] = (row[0], row[1], row[2], int(fraud))

    def on_account(self, customer_id: str, action: str, reason: str, audit_index: int) -> None:
        """Account changes are not training data."""

    @property
    def labelled(self) -> int:
        """How many kept decisions have a label."""
        with self._lock:
            return sum(1 for row in self._rows.values() if row[3] is not None)

    def window(self) -> LabelledWindow:
        """The labelled decisions, in time order."""
        with self._lock:
            rows = [row for row in self._rows.values() if row[3] is not None]
        rows.sort(key=lambda row: row[1])
        features = np.asarray([row[0] for row in rows], dtype=np.float32).reshape(-1, len(FEATURE_NAMES))
        return LabelledWindow(
            features,
            np.asarray([row[1] for row in rows], dtype=np.int64),
            [row[2] for row in rows],
            np.asarray([row[3] for row in rows], dtype=np.int8),
        )
