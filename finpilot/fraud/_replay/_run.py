"""``replay``: run a payment CSV through a protocol and report the metrics (the bench's interface)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from finpilot.core import InputError
from finpilot.fraud._csv import read_payments
from finpilot.fraud._models._artifact import ModelArtifact
from finpilot.fraud._replay._handbook import build_handbook_data, run_handbook
from finpilot.fraud._replay._prequential import run_prequential

ReplayProtocol = Literal["handbook", "prequential"]
"""The replay protocols: the handbook's fixed folds, or production-like prequential scoring."""


def replay(
    csv_path: Path,
    protocol: ReplayProtocol = "handbook",
    *,
    predictions_out: Path | None = None,
    model_out: Path | None = None,
    warmup_days: int = 30,
    retrain_days: int = 7,
    latency_samples: int = 20_000,
) -> dict[str, Any]:
    """Replay ``csv_path`` under ``protocol``; returns the JSON-ready report (NaN becomes None).

    ``predictions_out`` receives ``TRANSACTION_ID,score`` for every payment scored, and
    ``model_out`` the last model as an artifact directory.
    """
    table = read_payments(csv_path)
    artifact: ModelArtifact
    if protocol == "handbook":
        report, predictions, artifact = run_handbook(build_handbook_data(table), latency_samples=latency_samples)
    elif protocol == "prequential":
        report, predictions, artifact = run_prequential(
            table, warmup_days=warmup_days, retrain_days=retrain_days, latency_samples=latency_samples
        )
    else:
        raise InputError(f"unknown protocol {protocol!r}", field="protocol", fix="use handbook or prequential")
    if predictions_out is not None:
        write_predictions(predictions_out, predictions)
    if model_out is not None:
        artifact.save(model_out)
    result: dict[str, Any] = _finite(report)
    return result


def write_predictions(path: Path, predictions: Mapping[str, float | npt.NDArray[np.float64]]) -> None:
    """Write ``TRANSACTION_ID,score`` lines (scores with full float precision)."""
    with path.open("w", encoding="utf-8") as fh:
        fh.write("TRANSACTION_ID,score\n")
        fh.writelines(f"{tx},{float(score)!r}\n" for tx, score in predictions.items())


def _finite(value: Any) -> Any:
    """NaN and infinities become None so the report is strict JSON."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    return value
