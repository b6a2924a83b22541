"""Run a registered detector over the NAB corpus as the rules require, and score it.

Each file is streamed one row at a time through a fresh detector (``score_one`` then
``learn_one``: no look-ahead); files run in parallel across processes. Throughput is reported
two ways: rows per wall-clock second, and rows per second of detector time summed over the
workers (per core, independent of how many cores were free).
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from finpilot.watch._detect import _registry
from finpilot.watch._detect._registry import make_detector
from finpilot.watch._nab._corpus import PROFILE_NAMES, FloatArray, NabCorpus
from finpilot.watch._nab._results import read_results
from finpilot.watch._nab._scorer import NabScore, score_corpus

FALLBACK_DETECTOR = "windowed-gaussian"
"""The detector ``run_nab`` uses when none is named and the registry names no default."""


def stream_file(detector: str, times: FloatArray, values: FloatArray) -> tuple[FloatArray, float]:
    """One file through a fresh detector, row by row; the scores and the seconds it took."""
    model = make_detector(detector)
    scores = np.empty(values.size)
    score_one, learn_one = model.score_one, model.learn_one
    start = time.perf_counter()
    for i, (t, x) in enumerate(zip(times.tolist(), values.tolist(), strict=True)):
        scores[i] = score_one(t, x)
        learn_one(t, x)
    return scores, time.perf_counter() - start


@dataclass(frozen=True)
class NabResult:
    """A scored NAB run (or a scored directory of results, with no timing)."""

    detector: str
    score: NabScore
    points: int
    seconds: float
    busy_seconds: float
    jobs: int
    scores: Mapping[str, FloatArray]

    @property
    def points_per_s(self) -> float:
        """Rows per wall-clock second over the whole run (0 when nothing ran)."""
        return self.points / self.seconds if self.seconds > 0 else 0.0

    @property
    def points_per_s_per_core(self) -> float:
        """Rows per second of detector time, summed over the worker processes."""
        return self.points / self.busy_seconds if self.busy_seconds > 0 else 0.0

    def as_dict(self) -> dict[str, object]:
        """The one JSON shape of a run: scores, thresholds, files, throughput."""
        profiles = self.score.profiles
        return {
            "detector": self.detector,
            **{name: round(profiles[name].normalised, 4) for name in PROFILE_NAMES},
            "thresholds": {name: profiles[name].threshold for name in PROFILE_NAMES},
            "raw": {name: profiles[name].raw for name in PROFILE_NAMES},
            "files": [
                {
                    "file": f.name,
                    "rows": f.rows,
                    "windows": f.windows,
                    "scores": dict(f.scores),
                    "detected_windows": dict(f.detected_windows),
                    "false_positives": dict(f.false_positives),
                }
                for f in self.score.files
            ],
            "points": self.points,
            "seconds": round(self.seconds, 3),
            "points_per_s": round(self.points_per_s, 1),
            "points_per_s_per_core": round(self.points_per_s_per_core, 1),
            "jobs": self.jobs,
        }


def run_detector(
    corpus: NabCorpus, detector: str, jobs: int | None = None
) -> tuple[dict[str, FloatArray], float, float, int]:
    """Stream every file through ``detector``: scores by file, wall seconds, busy seconds, jobs."""
    make_detector(detector)  # an unknown name fails here, before any process starts
    workers = max(1, min(jobs or os.cpu_count() or 1, len(corpus.files)))
    # Longest files first, so the last worker to finish is not left with a long one.
    order = sorted(corpus.files, key=lambda f: -f.rows)
    start = time.perf_counter()
    if workers == 1:
        done = [stream_file(detector, f.times, f.values) for f in order]
    else:
        with ProcessPoolExecutor(max_workers=workers) as pool:
            futures = [pool.submit(stream_file, detector, f.times, f.values) for f in order]
            done = [future.result() for future in futures]
    wall = time.perf_counter() - start
    scores = {f.name: s for f, (s, _) in zip(order, done, strict=True)}
    return scores, wall, sum(seconds for _, seconds in done), workers


def run_nab(
    corpus: NabCorpus,
    detector: str | None = None,
    jobs: int | None = None,
    thresholds: Mapping[str, float] | None = None,
) -> NabResult:
    """Run ``detector`` (default: the registry's, else windowed-gaussian) over ``corpus`` and score it."""
    # Read at call time: the registry's default may be set after this module was imported.
    name = detector or _registry.DEFAULT_DETECTOR or FALLBACK_DETECTOR
    scores, wall, busy, workers = run_detector(corpus, name, jobs)
    return NabResult(name, score_corpus(corpus, scores, thresholds), corpus.rows, wall, busy, workers, scores)


def score_results(corpus: NabCorpus, directory: Path | str, thresholds: Mapping[str, float] | None = None) -> NabResult:
    """Score a directory of result CSVs (ours or a published detector's) against ``corpus``."""
    scores = read_results(directory, corpus)
    return NabResult(
        f"results:{Path(directory).name}", score_corpus(corpus, scores, thresholds), corpus.rows, 0.0, 0.0, 0, scores
    )
