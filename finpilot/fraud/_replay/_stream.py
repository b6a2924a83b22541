"""Shared replay machinery: stream a payment table through the feature engine, evaluate, time.

Every protocol streams the payments once, in time order, through :class:`FeatureEngine`; each
label is queued as the payment passes and becomes visible ``label_delay_days`` later. Scoring
happens after the pass with models trained only on rows whose labels were known by then; a
fixed model scores a row the same whether it is called at once or later, so batching the
predictions changes no number.
"""

from __future__ import annotations

import math
import time
from array import array
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from finpilot.fraud._csv import PaymentTable
from finpilot.fraud._features._engine import FEATURE_NAMES, FeatureEngine
from finpilot.fraud._models._artifact import ModelArtifact
from finpilot.fraud._payment import DAY_S, Payment
from finpilot.fraud._replay._metrics import auc_and_ap, card_precision_at_k
from finpilot.fraud._scorer import Scorer


@dataclass(frozen=True)
class StreamedFeatures:
    """Feature rows kept from one pass: ``features[j]`` belongs to table row ``rows[j]``."""

    features: npt.NDArray[np.float32]
    rows: npt.NDArray[np.int64]
    streamed: int
    seconds: float
    snapshot: bytes | None
    snapshot_row: int | None


def stream_features(
    table: PaymentTable,
    engine: FeatureEngine,
    keep: npt.NDArray[np.bool_],
    *,
    stop_row: int | None = None,
    snapshot_row: int | None = None,
) -> StreamedFeatures:
    """Stream rows ``[0, stop_row)`` through ``engine``; keep the vectors of rows where ``keep``.

    With ``snapshot_row``, the engine's state just before that row is snapshotted.
    """
    stop = len(table) if stop_row is None else stop_row
    ids, customers, terminals = table.tx_ids, table.customers, table.terminals
    times = table.times[:stop].tolist()
    amounts = table.amounts[:stop].tolist()
    frauds = table.frauds[:stop].tolist()
    keep_list = keep[:stop].tolist()
    out = array("f")
    rows: list[int] = []
    snapshot: bytes | None = None
    update, observe = engine.update_and_features, engine.observe_label
    started = time.perf_counter()
    snap_seconds = 0.0
    for i in range(stop):
        if i == snapshot_row:
            t0 = time.perf_counter()
            snapshot = engine.snapshot()
            snap_seconds += time.perf_counter() - t0
        payment = Payment(ids[i], times[i], customers[i], terminals[i], amounts[i])
        vector = update(payment)
        observe(payment, frauds[i] == 1)
        if keep_list[i]:
            out.extend(vector)
            rows.append(i)
    seconds = time.perf_counter() - started - snap_seconds
    features = np.frombuffer(out, dtype=np.float32).reshape(-1, len(FEATURE_NAMES))
    return StreamedFeatures(
        features,
        np.asarray(rows, dtype=np.int64),
        stop,
        seconds,
        snapshot,
        snapshot_row if snapshot is not None else None,
    )


def known_compromised_mask(
    days: npt.NDArray[np.int64],
    customers: Sequence[str],
    frauds: npt.NDArray[np.int8],
    test_rows: npt.NDArray[np.int64],
    history_rows: npt.NDArray[np.int64],
    delay_days: int,
) -> npt.NDArray[np.bool_]:
    """For each test row, whether its card had a fraud known by its day (a fraud ``delay_days + 1``
    or more days earlier among ``history_rows``): the handbook removes those from the test."""
    first_fraud: dict[str, int] = {}
    for i in history_rows[frauds[history_rows] == 1].tolist():
        c = customers[i]
        d = int(days[i])
        if d < first_fraud.get(c, 1 << 62):
            first_fraud[c] = d
    return np.fromiter(
        (first_fraud.get(customers[i], 1 << 62) <= int(days[i]) - delay_days - 1 for i in test_rows.tolist()),
        dtype=np.bool_,
        count=len(test_rows),
    )


def evaluate(
    days: npt.NDArray[np.int64],
    customers: Sequence[str],
    labels: npt.NDArray[np.int8],
    scores: npt.NDArray[np.float64],
    k: int = 100,
) -> dict[str, float]:
    """AUC, AP and CP@k of one set of scored rows (already without known-compromised cards)."""
    auc, ap = auc_and_ap(labels, scores)
    cp, _ = card_precision_at_k(days, list(customers), labels, scores, k)
    return {"auc_roc": auc, "average_precision": ap, "card_precision_at_100": cp}


def measure_latency(
    table: PaymentTable, snapshot: bytes, start_row: int, artifact: ModelArtifact, count: int = 20_000
) -> dict[str, Any]:
    """Score up to ``count`` payments one at a time from a restored engine; p50/p99 in ms.

    Each timing covers the whole live path: the feature update, the model and the rules.
    """
    scorer = Scorer(FeatureEngine.restore(snapshot), artifact)
    end = min(len(table), start_row + count)
    timings: list[int] = []
    for i in range(start_row, end):
        payment = Payment(
            table.tx_ids[i], int(table.times[i]), table.customers[i], table.terminals[i], float(table.amounts[i])
        )
        t0 = time.perf_counter_ns()
        scorer.score_one(payment)
        timings.append(time.perf_counter_ns() - t0)
        scorer.engine.observe_label(payment, bool(table.frauds[i]))
    if not timings:
        return {"p50": math.nan, "p99": math.nan, "samples": 0}
    arr = np.asarray(timings, dtype=np.float64) / 1e6
    return {"p50": float(np.percentile(arr, 50)), "p99": float(np.percentile(arr, 99)), "samples": len(timings)}


def summary(per_fold: list[dict[str, float]]) -> dict[str, Any]:
    """The three metrics as ``{"mean": ..., "folds": [...]}`` each."""
    result: dict[str, Any] = {}
    for metric in ("auc_roc", "average_precision", "card_precision_at_100"):
        values = [fold[metric] for fold in per_fold]
        finite = [v for v in values if not math.isnan(v)]
        result[metric] = {
            "mean": float(np.mean(finite)) if finite else None,
            "folds": [None if math.isnan(v) else v for v in values],
        }
    return result


def day_number(text: str) -> int:
    """``YYYY-MM-DD`` as a UTC day number."""
    return int(np.datetime64(text, "D").astype(np.int64))


def day_text(day: int) -> str:
    """A UTC day number as ``YYYY-MM-DD``."""
    return str(np.datetime64(day * DAY_S, "s").astype("datetime64[D]"))
