"""NAB: every registered detector (or ``--detector``) over the corpus, beside the published table.

For each detector: the three normalised scores (full threshold sweep over its exact scores),
the same scores once its outputs are rounded to 12 significant digits (the precision of NAB's
published result files, which is what its published numbers were scored from), rows per wall
second and rows per second of detector time per core; plus the time the scorer takes over all
365,558 rows. Prints ONE JSON object on stdout. Example::

    .venv/bin/python -m bench.watch.bench_nab --data ../shared/data/nab --jobs 2
"""

from __future__ import annotations

import argparse
import json
import time
from typing import Any

import numpy as np

PUBLISHED = {
    "ARTime": (74.85, 65.15, 80.36),
    "Numenta HTM": (70.10, 63.12, 74.32),
    "CAD OSE": (69.90, 66.98, 73.18),
    "KNN CAD": (57.99, 43.41, 64.81),
    "Relative Entropy": (54.64, 47.60, 58.84),
    "Random Cut Forest": (51.72, 38.36, 59.75),
    "Twitter ADVec": (47.06, 33.61, 53.50),
    "Windowed Gaussian": (39.65, 20.87, 47.41),
    "null": (0.0, 0.0, 0.0),
}
"""NAB's published normalised scores (standard, low FP, low FN), from shared/data/nab/README.md."""


def _scores(profiles: Any) -> dict[str, float]:
    return {name: round(p.normalised, 3) for name, p in profiles.items()}


def main() -> None:
    from finpilot.watch import PROFILE_NAMES, detector_names, load_corpus, run_nab, score_corpus

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="../shared/data/nab", help="The NAB directory.")
    parser.add_argument("--detector", action="append", help="Only this detector (repeatable).")
    parser.add_argument("--jobs", type=int, default=None, help="Worker processes (default: cores).")
    args = parser.parse_args()
    t0 = time.perf_counter()
    corpus = load_corpus(args.data)
    load_s = time.perf_counter() - t0
    rows: dict[str, Any] = {}
    scorer_s: float | None = None
    for name in args.detector or detector_names():
        result = run_nab(corpus, name, args.jobs)
        rounded = {k: np.array([float(f"{x:.12g}") for x in v.tolist()]) for k, v in result.scores.items()}
        t1 = time.perf_counter()
        twelve = score_corpus(corpus, rounded)
        scorer_s = time.perf_counter() - t1
        rows[name] = {
            "scores": _scores(result.score.profiles),
            "thresholds": {p: result.score.profiles[p].threshold for p in PROFILE_NAMES},
            "scores_12_digits": _scores(twelve.profiles),
            "points": result.points,
            "seconds": round(result.seconds, 3),
            "points_per_s": round(result.points_per_s),
            "points_per_s_per_core": round(result.points_per_s_per_core),
            "jobs": result.jobs,
        }
    published = {k: dict(zip(PROFILE_NAMES, v, strict=True)) for k, v in PUBLISHED.items()}
    report = {
        "corpus": {
            "files": len(corpus.files),
            "rows": corpus.rows,
            "windows": corpus.windows,
            "load_s": round(load_s, 2),
        },
        "scorer_s_all_rows_3_profiles": None if scorer_s is None else round(scorer_s, 3),
        "detectors": rows,
        "published": published,
    }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
