"""The prequential protocol: how the engine runs in production, on any stream of the schema.

After a warm-up (default 30 days) every payment is scored in stream order by the current
model. Every ``retrain_days`` the model is retrained on the last ``train_days`` of payments
whose labels are known (at least ``delay`` days old). The metrics cover the scored period;
each retraining period is a "fold" in the report. Cards with a fraud known by a day are
dropped from that day's evaluation, as in the handbook protocol.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

import numpy as np
import numpy.typing as npt

from finpilot.core import InputError
from finpilot.fraud._csv import PaymentTable
from finpilot.fraud._features._engine import FEATURE_NAMES, FeatureConfig, FeatureEngine
from finpilot.fraud._models._artifact import DEFAULT_PARAMS, ModelArtifact, predict, train_model
from finpilot.fraud._payment import DAY_S
from finpilot.fraud._replay._stream import (
    day_text,
    evaluate,
    known_compromised_mask,
    measure_latency,
    stream_features,
    summary,
)


def run_prequential(
    table: PaymentTable,
    *,
    warmup_days: int = 30,
    retrain_days: int = 7,
    train_days: int = 28,
    delay_days: int = 7,
    params: Mapping[str, Any] = DEFAULT_PARAMS,
    seed: int = 0,
    latency_samples: int = 20_000,
) -> tuple[dict[str, Any], dict[str, npt.NDArray[np.float64]], ModelArtifact]:
    """Run the protocol; returns the JSON-ready report, scores by transaction id and the last model."""
    if warmup_days <= delay_days or retrain_days < 1 or train_days < 1:
        raise InputError(
            "need warm-up > label delay, retrain and training windows of at least a day", field="warmup_days"
        )
    if len(table) == 0:
        raise InputError("the CSV has no payments", field="csv")
    days = table.times // DAY_S
    first, last = int(days[0]), int(days[-1])
    start = first + warmup_days
    if start > last:
        raise InputError(
            f"the stream spans {last - first + 1} days, fewer than the {warmup_days}-day warm-up",
            field="warmup_days",
            fix="use a longer CSV or a shorter --warmup-days",
        )
    boundaries = list(range(start, last + 1, retrain_days))
    keep = days >= start - delay_days - train_days
    snap_row = int(np.searchsorted(days, boundaries[-1], side="left"))
    streamed = stream_features(
        table, FeatureEngine(FeatureConfig(label_delay_days=delay_days)), keep, snapshot_row=snap_row
    )
    kdays = days[streamed.rows]
    labels = table.frauds[streamed.rows]
    x = streamed.features
    all_rows = np.arange(len(table), dtype=np.int64)
    reports: list[dict[str, Any]] = []
    predictions: dict[str, npt.NDArray[np.float64]] = {}
    train_s = predict_s = 0.0
    booster: Any = None
    window = ("", "")
    for b in boundaries:
        train = np.flatnonzero((kdays >= b - delay_days - train_days) & (kdays < b - delay_days))
        test = np.flatnonzero((kdays >= b) & (kdays < b + retrain_days))
        if len(test) == 0:
            continue
        t0 = time.perf_counter()
        booster = train_model(x[train], labels[train], params, seed=seed)
        train_s += time.perf_counter() - t0
        window = (day_text(b - delay_days - train_days), day_text(b - delay_days - 1))
        t0 = time.perf_counter()
        scores = predict(booster, x[test])
        predict_s += time.perf_counter() - t0
        rows = streamed.rows[test]
        predictions.update(zip([table.tx_ids[i] for i in rows.tolist()], scores, strict=True))
        known = known_compromised_mask(days, table.customers, table.frauds, rows, all_rows[: rows[-1] + 1], delay_days)
        stay = ~known
        metrics = evaluate(
            days[rows[stay]], [table.customers[i] for i in rows[stay].tolist()], labels[test][stay], scores[stay]
        )
        reports.append(
            {
                "train_window": list(window),
                "test_start": day_text(b),
                "test_payments": int(stay.sum()),
                "removed_known_compromised": int(known.sum()),
                **metrics,
            }
        )
    artifact = ModelArtifact.build(
        booster,
        FEATURE_NAMES,
        window,
        params,
        {k: reports[-1][k] for k in ("auc_roc", "average_precision", "card_precision_at_100")},
    )
    latency = (
        measure_latency(table, streamed.snapshot, snap_row, artifact, latency_samples)
        if streamed.snapshot is not None
        else None
    )
    result: dict[str, Any] = {
        "protocol": "prequential",
        **summary(reports),
        "tx_per_s": streamed.streamed / (streamed.seconds + predict_s),
        "score_latency_ms": latency,
        "payments_streamed": streamed.streamed,
        "payments_scored": len(predictions),
        "folds": reports,
        "params": dict(params),
        "model": {"version": artifact.version, "sha256": artifact.sha256, "training_window": list(window)},
        "timings_s": {"stream": streamed.seconds, "predict": predict_s, "train": train_s},
    }
    return result, predictions, artifact
