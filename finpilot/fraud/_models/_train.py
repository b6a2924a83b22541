"""Train one model artifact on a labelled window of a payment stream (``finpilot fraud train``).

The stream is replayed from its start through the live feature code, so the window's features
see the same history they would have seen live. The last ``holdout_days`` of the window are a
time-split holdout: the model trains on the days before them and its metrics are measured on
them, so the artifact's metrics describe the very model that ships.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from finpilot.core import InputError
from finpilot.fraud._csv import PaymentTable
from finpilot.fraud._features._engine import FEATURE_NAMES, FeatureConfig, FeatureEngine
from finpilot.fraud._models._artifact import DEFAULT_PARAMS, MANIFEST_FILE, ModelArtifact, predict, train_model
from finpilot.fraud._payment import DAY_S
from finpilot.fraud._replay._stream import day_text, evaluate, stream_features


def _day(text: str, name: str) -> int:
    try:
        return (dt.date.fromisoformat(text) - dt.date(1970, 1, 1)).days
    except ValueError:
        raise InputError(f"{name} must be a date (YYYY-MM-DD)", field=name) from None


def train_artifact(
    table: PaymentTable,
    *,
    start: str | None = None,
    end: str | None = None,
    holdout_days: int = 7,
    params: Mapping[str, Any] = DEFAULT_PARAMS,
    seed: int = 0,
) -> ModelArtifact:
    """Train on the payments from ``start`` to ``end`` (inclusive dates; default: the whole stream).

    All of the window's labels are used as they are in the CSV: training happens after the fact.
    """
    if len(table) == 0:
        raise InputError("the CSV has no payments", field="csv")
    if holdout_days < 0:
        raise InputError("the holdout must be 0 days or more", field="holdout_days")
    days = table.times // DAY_S
    first = _day(start, "from") if start is not None else int(days[0])
    last = _day(end, "to") if end is not None else int(days[-1])
    if first > last:
        raise InputError("the window starts after it ends", field="from", fix="give --from before --to")
    in_window = (days >= first) & (days <= last)
    if not in_window.any():
        raise InputError(
            f"no payments between {day_text(first)} and {day_text(last)}",
            field="from",
            fix=f"the CSV covers {day_text(int(days[0]))} to {day_text(int(days[-1]))}",
        )
    stop = int(np.searchsorted(days, last, side="right"))
    streamed = stream_features(table, FeatureEngine(FeatureConfig()), in_window, stop_row=stop)
    kdays = days[streamed.rows]
    labels = table.frauds[streamed.rows]
    split = last - holdout_days + 1 if holdout_days else last + 1
    train = np.flatnonzero(kdays < split)
    test = np.flatnonzero(kdays >= split)
    if len(train) == 0:
        raise InputError(
            f"the window leaves no days to train on before the {holdout_days}-day holdout",
            field="from",
            fix="give a longer window",
        )
    booster = train_model(streamed.features[train], labels[train], params, seed=seed)
    metrics: dict[str, float] = {"train_payments": float(len(train)), "holdout_payments": float(len(test))}
    if len(test):
        scores = predict(booster, streamed.features[test])
        rows = streamed.rows[test]
        found = evaluate(days[rows], [table.customers[i] for i in rows.tolist()], labels[test], scores)
        metrics.update({k: float(found[k]) for k in ("auc_roc", "average_precision", "card_precision_at_100")})
    window = (day_text(first), day_text(split - 1))
    return ModelArtifact.build(booster, FEATURE_NAMES, window, params, metrics)


@dataclass(frozen=True)
class ArtifactInfo:
    """What ``finpilot fraud model list`` shows of one artifact directory, read from its manifest."""

    path: Path
    sha256: str
    training_window: tuple[str, str]
    metrics: Mapping[str, float | None]

    @property
    def version(self) -> str:
        """The first 12 hex digits of the hash, as :attr:`ModelArtifact.version`."""
        return self.sha256[:12]

    def to_json(self) -> dict[str, Any]:
        """The JSON form."""
        return {
            "path": str(self.path),
            "version": self.version,
            "sha256": self.sha256,
            "training_window": list(self.training_window),
            "metrics": dict(self.metrics),
        }


def list_artifacts(directory: Path) -> list[ArtifactInfo]:
    """The artifacts in ``directory`` (itself, or its direct subdirectories) by training window; hashes not checked."""
    if not directory.is_dir():
        raise InputError(f"{directory} is not a directory", field="dir")
    candidates = [directory, *sorted(p for p in directory.iterdir() if p.is_dir())]
    found: list[ArtifactInfo] = []
    for path in candidates:
        manifest_path = path / MANIFEST_FILE
        if not manifest_path.is_file():
            continue
        try:
            manifest = json.loads(manifest_path.read_text())
            window = manifest.get("training_window") or ["", ""]
            metrics = {
                str(k): (float(v) if isinstance(v, int | float) and math.isfinite(v) else None)
                for k, v in dict(manifest.get("metrics") or {}).items()
            }
            found.append(ArtifactInfo(path, str(manifest["sha256"]), (str(window[0]), str(window[1])), metrics))
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise InputError(f"{manifest_path} is not a model manifest: {exc}", field="manifest") from exc
    return sorted(found, key=lambda a: (a.training_window, str(a.path)))
