"""The handbook's published protocol (``../shared/data/fraud-handbook/README.md``).

A fold trains on 7 days, waits a 7-day delay and tests on the next 7 days. Hyper-parameters are
chosen on the 4 validation folds (training weeks from 2018-06-20) and only then used on the 4
test folds (training weeks from 2018-07-25). Each test day drops the cards with a fraud known
by then (a fraud since the training week began, at least ``delay + 1`` days earlier).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from finpilot.core import InputError
from finpilot.fraud._csv import PaymentTable
from finpilot.fraud._features._engine import FEATURE_NAMES, FeatureEngine
from finpilot.fraud._models._artifact import PARAM_GRID, ModelArtifact, predict, train_model
from finpilot.fraud._payment import DAY_S
from finpilot.fraud._replay._stream import (
    StreamedFeatures,
    day_number,
    day_text,
    evaluate,
    known_compromised_mask,
    measure_latency,
    stream_features,
    summary,
)

VALIDATION_STARTS = ("2018-06-20", "2018-06-27", "2018-07-04", "2018-07-11")
"""Training-week starts of the folds used to choose hyper-parameters."""
TEST_STARTS = ("2018-07-25", "2018-08-01", "2018-08-08", "2018-08-15")
"""Training-week starts of the folds that are reported."""
TRAIN_DAYS = DELAY_DAYS = TEST_DAYS = 7


@dataclass(frozen=True)
class HandbookData:
    """Everything one pass over the stream yields for the 8 folds."""

    table: PaymentTable
    streamed: StreamedFeatures
    days: npt.NDArray[np.int64]  # day of each kept row
    labels: npt.NDArray[np.int8]  # label of each kept row

    def fold(self, start: str) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.bool_]]:
        """Kept-row positions of a fold's training and test weeks, and which test rows stay in."""
        s = day_number(start)
        train = np.flatnonzero((self.days >= s) & (self.days < s + TRAIN_DAYS))
        t0 = s + TRAIN_DAYS + DELAY_DAYS
        test = np.flatnonzero((self.days >= t0) & (self.days < t0 + TEST_DAYS))
        history = np.flatnonzero((self.days >= s) & (self.days < t0 + TEST_DAYS))
        rows = self.streamed.rows
        known = known_compromised_mask(
            self.days_of_rows, self.table.customers, self.table.frauds, rows[test], rows[history], DELAY_DAYS
        )
        return train, test, ~known

    @property
    def days_of_rows(self) -> npt.NDArray[np.int64]:
        """The day of every table row."""
        return self.table.times // DAY_S

    def score_fold(
        self,
        start: str,
        fit: Callable[[npt.NDArray[np.float32], npt.NDArray[np.int8]], Any],
        columns: Sequence[int] | None = None,
    ) -> tuple[dict[str, Any], npt.NDArray[np.int64], npt.NDArray[np.float64], Any]:
        """Train with ``fit`` on a fold's training week and evaluate on its test week.

        ``fit(X, y)`` returns a LightGBM booster or any model with scikit-learn's
        ``predict_proba``. Returns the fold report, the test rows (kept-row positions), their
        scores and the model.
        """
        train, test, keep = self.fold(start)
        cols = list(columns) if columns is not None else list(range(len(FEATURE_NAMES)))
        x = self.streamed.features
        if len(train) == 0 or len(test) == 0:
            raise InputError(
                f"the CSV has no payments in the fold starting {start}",
                field="TX_DATETIME",
                fix="the handbook protocol needs data from 2018-06-20 to 2018-09-04",
            )
        t0 = time.perf_counter()
        model = fit(x[train][:, cols], self.labels[train])
        train_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        scores = _scores(model, x[test][:, cols])
        predict_s = time.perf_counter() - t0
        rows = self.streamed.rows[test][keep]
        metrics = evaluate(
            self.days_of_rows[rows],
            [self.table.customers[i] for i in rows.tolist()],
            self.labels[test][keep],
            scores[keep],
        )
        report = {
            "train_start": start,
            "test_start": day_text(day_number(start) + TRAIN_DAYS + DELAY_DAYS),
            "train_payments": len(train),
            "test_payments": int(keep.sum()),
            "removed_known_compromised": int((~keep).sum()),
            **metrics,
            "train_s": train_s,
            "predict_s": predict_s,
        }
        return report, test, scores, model


def _scores(model: Any, x: npt.NDArray[np.float32]) -> npt.NDArray[np.float64]:
    if hasattr(model, "predict_proba"):
        return np.asarray(model.predict_proba(x)[:, 1], dtype=np.float64)
    return predict(model, x)


def build_handbook_data(table: PaymentTable, engine: FeatureEngine | None = None) -> HandbookData:
    """Stream the table once (up to the end of the last test week), keeping the fold rows."""
    days = table.times // DAY_S
    first = day_number(VALIDATION_STARTS[0])
    last_start = day_number(TEST_STARTS[-1])
    end = last_start + TRAIN_DAYS + DELAY_DAYS + TEST_DAYS
    keep = (days >= first) & (days < end)
    stop = int(np.searchsorted(days, end, side="left"))
    snap = int(np.searchsorted(days, end - TEST_DAYS, side="left"))
    streamed = stream_features(table, engine or FeatureEngine(), keep, stop_row=stop, snapshot_row=snap)
    return HandbookData(table, streamed, days[streamed.rows], table.frauds[streamed.rows])


def run_handbook(
    data: HandbookData,
    grid: Sequence[Mapping[str, Any]] = PARAM_GRID,
    *,
    seed: int = 0,
    latency_samples: int = 20_000,
) -> tuple[dict[str, Any], dict[str, npt.NDArray[np.float64]], ModelArtifact]:
    """Model selection on the validation folds, then the 4 test folds with the chosen parameters.

    Returns the JSON-ready report, the test scores by transaction id and the last fold's model.
    """
    validation: list[dict[str, Any]] = []
    for params in grid:

        def fit(x: npt.NDArray[np.float32], y: npt.NDArray[np.int8], p: Mapping[str, Any] = params) -> Any:
            return train_model(x, y, p, seed=seed)

        folds = [data.score_fold(s, fit)[0] for s in VALIDATION_STARTS]
        validation.append({"params": dict(params), **summary(folds)})
    best = max(range(len(grid)), key=lambda i: validation[i]["average_precision"]["mean"] or 0.0)
    chosen = grid[best]
    reports: list[dict[str, Any]] = []
    predictions: dict[str, npt.NDArray[np.float64]] = {}
    model: Any = None
    for start in TEST_STARTS:
        report, test, scores, model = data.score_fold(start, lambda x, y: train_model(x, y, chosen, seed=seed))
        reports.append(report)
        rows = data.streamed.rows[test]
        predictions.update(zip([data.table.tx_ids[i] for i in rows.tolist()], scores, strict=True))
    s = TEST_STARTS[-1]
    window = (s, day_text(day_number(s) + TRAIN_DAYS - 1))
    last = reports[-1]
    artifact = ModelArtifact.build(
        model,
        FEATURE_NAMES,
        window,
        chosen,
        {k: last[k] for k in ("auc_roc", "average_precision", "card_precision_at_100")},
    )
    predict_s = sum(r["predict_s"] for r in reports)
    streamed = data.streamed
    latency = (
        measure_latency(data.table, streamed.snapshot, streamed.snapshot_row, artifact, latency_samples)
        if streamed.snapshot is not None and streamed.snapshot_row is not None
        else None
    )
    result: dict[str, Any] = {
        "protocol": "handbook",
        **summary(reports),
        "tx_per_s": streamed.streamed / (streamed.seconds + predict_s),
        "score_latency_ms": latency,
        "payments_streamed": streamed.streamed,
        "folds": reports,
        "selected_params": dict(chosen),
        "validation": validation,
        "model": {"version": artifact.version, "sha256": artifact.sha256, "training_window": list(window)},
        "timings_s": {"stream": streamed.seconds, "predict": predict_s, "train": sum(r["train_s"] for r in reports)},
    }
    return result, predictions, artifact
