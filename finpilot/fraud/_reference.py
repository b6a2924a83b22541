"""Reference histograms of a model's inputs and scores, and the population stability index (PSI).

A :class:`Reference` is a sample seen through deciles: for every feature the model reads and
for its score, the sample's decile edges and the share of it in each bin (plus a bin for
missing values). It is saved beside the model as ``reference.json``, bound to the model by its
sha256; the model's own manifest is not touched, so its hash check still holds.

The PSI of a live sample against a reference histogram is ``sum((a - e) * ln(a / e))`` over
the bins, with shares below ``eps`` raised to ``eps`` so an empty bin does not make it
infinite. Every term is >= 0, and identical samples give 0. Rules of thumb: below 0.1
stable, 0.1 to 0.25 worth a look, above 0.25 drifted.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from finpilot.core import InputError, IntegrityError, NotFoundError
from finpilot.fraud._csv import PaymentTable
from finpilot.fraud._features._engine import FEATURE_NAMES
from finpilot.fraud._features._window import LabelledWindow, window_from_table
from finpilot.fraud._models._artifact import ModelArtifact, predict
from finpilot.fraud._payment import DAY_S
from finpilot.fraud._replay._stream import day_text

REFERENCE_FILE = "reference.json"
"""The file beside ``model.txt`` that holds the model's reference histograms."""

PSI_EPS = 1e-4
"""The smallest bin share PSI uses, so an empty bin gives a large but finite term."""


@dataclass(frozen=True)
class ReferenceHistogram:
    """Decile edges of a reference sample and its share in each bin.

    Bins are ``(-inf, e0], (e0, e1], ..., (e_last, inf)`` and then one for missing values (NaN),
    so ``len(shares) == len(edges) + 2``.
    """

    edges: tuple[float, ...]
    shares: tuple[float, ...]

    @classmethod
    def of(cls, sample: npt.ArrayLike, bins: int = 10) -> ReferenceHistogram:
        """The ``bins``-quantile histogram of ``sample`` (repeated edges merged, so a 0/1 feature has 2 bins)."""
        values = _as_float32(sample)
        finite = values[np.isfinite(values)]  # infinities fall in the outer bins, NaN in its own
        if len(finite):
            quantiles = np.quantile(finite, np.arange(1, bins) / bins)
            edges = tuple(float(e) for e in np.unique(quantiles))
        else:
            edges = ()
        hist = cls(edges, ())
        return cls(edges, tuple(hist.shares_of(values).tolist()))

    def counts_of(self, sample: npt.ArrayLike) -> npt.NDArray[np.int64]:
        """How many of ``sample`` fall in each bin."""
        values = _as_float32(sample)
        missing = np.isnan(values)
        index = np.searchsorted(np.asarray(self.edges, dtype=np.float64), values[~missing], side="left")
        counts = np.bincount(index, minlength=len(self.edges) + 1)
        return np.append(counts, int(missing.sum())).astype(np.int64)

    def shares_of(self, sample: npt.ArrayLike) -> npt.NDArray[np.float64]:
        """The share of ``sample`` in each bin (all zero for an empty sample)."""
        counts = self.counts_of(sample)
        total = counts.sum()
        return counts / total if total else np.zeros(len(counts))

    def psi(self, sample: npt.ArrayLike, eps: float = PSI_EPS) -> float:
        """The population stability index of ``sample`` against this histogram."""
        return psi_of_shares(self.shares, self.shares_of(sample), eps)

    def to_json(self) -> dict[str, Any]:
        """The JSON form."""
        return {"edges": list(self.edges), "shares": list(self.shares)}

    @classmethod
    def from_json(cls, obj: Mapping[str, Any]) -> ReferenceHistogram:
        """Read :meth:`to_json`'s form back."""
        edges = tuple(float(e) for e in obj["edges"])
        shares = tuple(float(s) for s in obj["shares"])
        if len(shares) != len(edges) + 2:
            raise ValueError(f"{len(shares)} shares for {len(edges)} edges, expected {len(edges) + 2}")
        return cls(edges, shares)


def _as_float32(sample: npt.ArrayLike) -> npt.NDArray[np.float64]:
    # Training windows hold float32 features and live vectors float64; binning both at float32
    # precision keeps a value that sits exactly on an edge in the same bin on both sides.
    with np.errstate(over="ignore"):  # beyond float32's range is simply +-inf, the outermost bins
        return np.asarray(sample, dtype=np.float64).astype(np.float32).astype(np.float64).ravel()


def psi_of_shares(
    expected: Sequence[float] | npt.ArrayLike, actual: Sequence[float] | npt.ArrayLike, eps: float = PSI_EPS
) -> float:
    """PSI between two vectors of bin shares (same bins); shares below ``eps`` count as ``eps``."""
    e = np.maximum(np.asarray(expected, dtype=np.float64), eps)
    a = np.maximum(np.asarray(actual, dtype=np.float64), eps)
    if e.shape != a.shape:
        raise InputError(f"{a.shape[0]} bins against {e.shape[0]}", field="bins")
    return float(np.sum((a - e) * np.log(a / e)))


def psi(reference: npt.ArrayLike, live: npt.ArrayLike, bins: int = 10, eps: float = PSI_EPS) -> float:
    """PSI of ``live`` against ``reference``'s deciles (two raw samples)."""
    return ReferenceHistogram.of(reference, bins).psi(live, eps)


@dataclass(frozen=True)
class Reference:
    """A model's reference histograms: one per input feature and one of its scores."""

    model_sha256: str
    features: Mapping[str, ReferenceHistogram]
    score: ReferenceHistogram
    size: int
    window: tuple[str, str] = ("", "")

    @classmethod
    def build(
        cls,
        artifact: ModelArtifact,
        features: npt.NDArray[np.floating[Any]],
        scores: npt.ArrayLike,
        *,
        window: tuple[str, str] = ("", ""),
        bins: int = 10,
    ) -> Reference:
        """Histograms of ``features`` (rows in ``FEATURE_NAMES`` order) for the model's inputs, and of ``scores``."""
        if features.ndim != 2 or features.shape[1] != len(FEATURE_NAMES):
            raise InputError(f"expected rows of {len(FEATURE_NAMES)} features", field="features")
        if features.shape[0] == 0:
            raise InputError("the reference sample is empty", field="features", fix="use a window with payments")
        hists = {
            name: ReferenceHistogram.of(features[:, FEATURE_NAMES.index(name)], bins) for name in artifact.feature_names
        }
        return cls(artifact.sha256, hists, ReferenceHistogram.of(scores, bins), int(features.shape[0]), window)

    def to_json(self) -> dict[str, Any]:
        """The JSON form (what ``reference.json`` holds)."""
        return {
            "model_sha256": self.model_sha256,
            "size": self.size,
            "window": list(self.window),
            "score": self.score.to_json(),
            "features": {name: h.to_json() for name, h in self.features.items()},
        }

    def save(self, directory: Path) -> Path:
        """Write ``reference.json`` into an artifact directory; its path."""
        path = directory / REFERENCE_FILE
        path.write_text(json.dumps(self.to_json(), indent=1, sort_keys=True))
        return path


def reference_from_window(artifact: ModelArtifact, window: LabelledWindow) -> Reference:
    """A reference for ``artifact`` from a labelled window: its feature rows and the model's scores of them.

    Best are the days just after the model's training window (its holdout): out of sample, so
    the scores look like live ones, and late in the stream, so windowed features are warm. Rows
    the model trained on score in sample, more extreme than live payments will.
    """
    if len(window) == 0:
        raise InputError("the reference window has no payments", field="window", fix="use a window with payments")
    columns = [FEATURE_NAMES.index(name) for name in artifact.feature_names]
    scores = predict(artifact.booster, window.features[:, columns])
    days = (day_text(int(window.times[0]) // DAY_S), day_text(int(window.times[-1]) // DAY_S))
    return Reference.build(artifact, window.features, scores, window=days)


def holdout_reference(artifact: ModelArtifact, table: PaymentTable, *, days: int = 7) -> Reference | None:
    """The reference of a model just trained on ``table``: the ``days`` after its training window.

    ``None`` when the table has no payments after the training window (no holdout was kept).
    """
    trained_to = artifact.training_window[1]
    if days < 1 or not trained_to or len(table) == 0:
        return None
    first = np.datetime64(trained_to, "D") + np.timedelta64(1, "D")
    if int(table.times[-1]) // DAY_S < int(first.astype(np.int64)):
        return None
    last = first + np.timedelta64(days - 1, "D")
    return reference_from_window(artifact, window_from_table(table, start=str(first), end=str(last)))


def load_reference(directory: Path, artifact: ModelArtifact | None = None) -> Reference:
    """Read ``reference.json`` from an artifact directory; with ``artifact``, check it belongs to that model."""
    path = directory / REFERENCE_FILE
    try:
        obj = json.loads(path.read_text())
        reference = Reference(
            str(obj["model_sha256"]),
            {str(k): ReferenceHistogram.from_json(v) for k, v in dict(obj["features"]).items()},
            ReferenceHistogram.from_json(obj["score"]),
            int(obj["size"]),
            (str(obj["window"][0]), str(obj["window"][1])),
        )
    except FileNotFoundError:
        raise NotFoundError(
            f"{path} is missing: this model has no reference sample",
            field="reference",
            fix="retrain it with `finpilot fraud retrain`, or pass --reference-csv with its training CSV",
        ) from None
    except (ValueError, KeyError, TypeError, IndexError) as exc:
        raise InputError(f"{path} is not a drift reference: {exc}", field="reference") from exc
    if artifact is not None and reference.model_sha256 != artifact.sha256:
        raise IntegrityError(
            f"{path} belongs to model {reference.model_sha256[:12]}, not {artifact.version}",
            field="reference",
            fix="rebuild the reference from this model's training window",
        )
    return reference
