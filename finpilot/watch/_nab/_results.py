"""NAB result CSVs: one per data file, ``timestamp,value,anomaly_score`` (extra columns ignored).

The layout mirrors the data tree: ``<dir>/<group>/<name>.csv``, or with a detector prefix,
``<dir>/<group>/<detector>_<name>.csv`` as NAB's own ``results/<detector>/`` holds them, so the
published outputs of other detectors can be scored exactly like ours.
"""

from __future__ import annotations

import csv
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from finpilot.watch._errors import NabDataError
from finpilot.watch._nab._corpus import FloatArray, NabCorpus, NabFile, parse_time


def result_path(root: Path, detector: str, name: str) -> Path:
    """Where the result of data file ``name`` (``group/file.csv``) goes, with the detector prefix."""
    group, _, base = name.rpartition("/")
    return root / group / f"{detector}_{base}"


def write_results(
    root: Path | str,
    detector: str,
    corpus: NabCorpus,
    scores: Mapping[str, FloatArray],
    digits: int | None = None,
) -> list[Path]:
    """Write one result CSV per file under ``root``; returns the paths written.

    Scores are written exactly (shortest round-trip form) unless ``digits`` asks for that many
    significant digits: NAB's published result files hold 12 (Python 2's ``str``), and since
    its thresholds sit at 1.0, scores above 0.9999999999995 count only once rounded so.
    """
    fmt = repr if digits is None else f"{{:.{digits}g}}".format
    written = []
    for f in corpus.files:
        path = result_path(Path(root), detector, f.name)
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("w", newline="", encoding="utf-8") as fh:
            out = csv.writer(fh, lineterminator="\n")
            out.writerow(["timestamp", "value", "anomaly_score"])
            for stamp, value, score in zip(f.timestamps, f.values.tolist(), scores[f.name].tolist(), strict=True):
                out.writerow([stamp, repr(value), fmt(score)])
        written.append(path)
    return written


def _find(root: Path, name: str) -> Path:
    group, _, base = name.rpartition("/")
    folder = root / group
    exact = folder / base
    if exact.is_file():
        return exact
    found = sorted(folder.glob(f"*_{base}")) if folder.is_dir() else []
    fix = f"put one result CSV for {name} at {group}/{base} or {group}/<detector>_{base} under {root}"
    if not found:
        raise NabDataError(f"no result file for {name} under {root}", field="score-only", fix=fix)
    if len(found) > 1:
        listed = ", ".join(p.name for p in found)
        raise NabDataError(f"several result files for {name}: {listed}", field="score-only", fix=fix)
    return found[0]


def _read_one(path: Path, f: NabFile) -> FloatArray:
    fix = f"{path.name} needs a header with timestamp and anomaly_score, then one row per row of data/{f.name}"
    with path.open(newline="", encoding="utf-8") as fh:
        reader = csv.reader(fh)
        header = [h.strip() for h in next(reader, [])]
        if "timestamp" not in header or "anomaly_score" not in header:
            raise NabDataError(f"{path}: header {header!r} lacks timestamp or anomaly_score", field=str(path), fix=fix)
        at_t, at_s = header.index("timestamp"), header.index("anomaly_score")
        scores = np.empty(f.rows)
        count = 0
        for number, row in enumerate(reader, start=2):
            if count >= f.rows:
                raise NabDataError(f"{path}: more rows than data/{f.name} ({f.rows})", field=str(path), fix=fix)
            try:
                stamp, score = row[at_t], float(row[at_s])
            except (IndexError, ValueError):
                raise NabDataError(f"{path} line {number}: malformed row {row!r}", field=str(path), fix=fix) from None
            if stamp != f.timestamps[count] and parse_time(stamp).timestamp() != f.times[count]:
                raise NabDataError(
                    f"{path} line {number}: timestamp {stamp} but data/{f.name} has {f.timestamps[count]}",
                    field=str(path),
                    fix="a result file lists the data file's rows in the same order",
                )
            scores[count] = score
            count += 1
    if count != f.rows:
        raise NabDataError(f"{path}: {count} rows, data/{f.name} has {f.rows}", field=str(path), fix=fix)
    return scores


def read_results(root: Path | str, corpus: NabCorpus) -> dict[str, FloatArray]:
    """The anomaly scores of every file of ``corpus`` from a directory of result CSVs."""
    base = Path(root)
    if not base.is_dir():
        raise NabDataError(f"{base}: not a directory", field="score-only", fix="name a directory of result CSVs")
    return {f.name: _read_one(_find(base, f.name), f) for f in corpus.files}
