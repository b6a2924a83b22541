"""The Numenta Anomaly Benchmark's corpus: data files, anomaly windows and cost profiles.

``load_corpus(DIR)`` reads a NAB tree (``data/<group>/<name>.csv``,
``labels/combined_windows.json``, ``config/profiles.json``) into typed, validated objects. Every
problem is a :class:`NabDataError` that names the file (and row) and says how to fix it, so a
half-copied tree fails up front rather than skewing a score.
"""

from __future__ import annotations

import csv
import json
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import numpy.typing as npt

from finpilot.watch._errors import NabDataError

FloatArray = npt.NDArray[np.float64]
"""A one-dimensional float64 array."""

PROFILE_NAMES = ("standard", "reward_low_FP_rate", "reward_low_FN_rate")
"""The three cost profiles every NAB result is reported under, in the order they are shown."""


@dataclass(frozen=True)
class Profile:
    """One cost profile: the weights of a true positive, a false positive and a missed window."""

    name: str
    tp_weight: float
    fp_weight: float
    fn_weight: float


@dataclass(frozen=True)
class NabFile:
    """One data file of the corpus, with its anomaly windows as inclusive row-index pairs."""

    name: str
    """The path under ``data/``, e.g. ``realKnownCause/nyc_taxi.csv`` (the labels' key)."""
    timestamps: tuple[str, ...]
    """The timestamps as written in the file (results CSVs repeat them)."""
    times: FloatArray
    """The timestamps as Unix seconds (UTC), what detectors receive."""
    values: FloatArray
    windows: tuple[tuple[int, int], ...]
    """Anomaly windows as ``(first_row, last_row)``, inclusive, in time order, not overlapping."""

    @property
    def rows(self) -> int:
        """The number of rows."""
        return len(self.values)


@dataclass(frozen=True)
class NabCorpus:
    """A loaded NAB tree: its files in name order and its cost profiles."""

    files: tuple[NabFile, ...]
    profiles: Mapping[str, Profile]

    @property
    def rows(self) -> int:
        """The number of rows over all files."""
        return sum(f.rows for f in self.files)

    @property
    def windows(self) -> int:
        """The number of anomaly windows over all files."""
        return sum(len(f.windows) for f in self.files)


def parse_time(text: str) -> datetime:
    """A NAB timestamp (``2014-04-10 07:15:00``, ``.000000`` or an offset allowed) as an aware UTC datetime."""
    when = datetime.fromisoformat(text.strip())
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)


def _row_error(name: str, number: int, problem: str) -> NabDataError:
    return NabDataError(
        f"{name} line {number}: {problem}",
        field=name,
        fix=f"line {number} needs an ISO timestamp and a finite number (or copy the file again from numenta/NAB)",
    )


def _read_data(path: Path, name: str) -> tuple[tuple[str, ...], FloatArray, FloatArray]:
    with path.open(newline="", encoding="utf-8") as fh:
        reader = csv.reader(fh)
        header = next(reader, None)
        if header is None or [h.strip() for h in header[:2]] != ["timestamp", "value"]:
            raise NabDataError(
                f"{name}: the header is {header!r}, not 'timestamp,value'",
                field=name,
                fix="each data file starts with the header line 'timestamp,value'",
            )
        rows = list(reader)
    if not rows:
        raise NabDataError(f"{name}: no rows", field=name, fix="copy the file again from numenta/NAB")
    for number, row in enumerate(rows, start=2):
        if len(row) < 2:
            raise _row_error(name, number, f"{len(row)} column(s), expected 'timestamp,value'")
    stamps = tuple(row[0] for row in rows)
    try:
        # numpy parses the whole column at C speed (30x datetime.fromisoformat); on any problem
        # the row-by-row pass below finds the line to name.
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            times = np.array([s.strip() for s in stamps], dtype="datetime64[us]").astype(np.int64) / 1e6
            values = np.array([row[1] for row in rows], dtype=np.float64)
    except (ValueError, TypeError, Warning):
        parsed: list[float] = []
        numbers: list[float] = []
        for number, row in enumerate(rows, start=2):
            try:
                parsed.append(parse_time(row[0]).timestamp())
                numbers.append(float(row[1]))
            except ValueError as exc:
                raise _row_error(name, number, str(exc)) from None
        times, values = np.asarray(parsed), np.asarray(numbers)
    bad = np.flatnonzero(~np.isfinite(values))
    if bad.size:
        raise _row_error(name, int(bad[0]) + 2, f"value {rows[int(bad[0])][1]!r} is not finite")
    return stamps, times, values


def _window_rows(name: str, times: FloatArray, raw: object) -> tuple[tuple[int, int], ...]:
    fix = "each window is [start, end], two timestamps that are rows of the file, in time order"
    if not isinstance(raw, list):
        raise NabDataError(f"labels for {name}: not a list of windows", field=name, fix=fix)
    index = {t: i for i, t in reversed(list(enumerate(times.tolist())))}
    windows: list[tuple[int, int]] = []
    for window in raw:
        if not (isinstance(window, list) and len(window) == 2 and all(isinstance(w, str) for w in window)):
            raise NabDataError(f"labels for {name}: window {window!r} is malformed", field=name, fix=fix)
        edges: list[int] = []
        for edge in window:
            try:
                row = index.get(parse_time(edge).timestamp())
            except ValueError:
                row = None
            if row is None:
                raise NabDataError(
                    f"labels for {name}: window edge {edge!r} is not a timestamp of the file", field=name, fix=fix
                )
            edges.append(row)
        first, last = edges
        if last < first or (windows and first <= windows[-1][1]):
            raise NabDataError(
                f"labels for {name}: window {window!r} is reversed, out of order or overlaps the one before",
                field=name,
                fix=fix,
            )
        if last == first:
            # A one-row window has no defined position past it (NAB divides by width - 1).
            raise NabDataError(f"labels for {name}: window {window!r} is one row wide", field=name, fix=fix)
        windows.append((first, last))
    return tuple(windows)


def load_profiles(path: Path) -> dict[str, Profile]:
    """The cost profiles from NAB's ``config/profiles.json``; all three must be there."""
    fix = "config/profiles.json holds standard, reward_low_FP_rate and reward_low_FN_rate, each with a CostMatrix"
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise NabDataError(f"{path}: {exc}", field="config/profiles.json", fix=fix) from None
    profiles: dict[str, Profile] = {}
    for name in PROFILE_NAMES:
        try:
            matrix = raw[name]["CostMatrix"]
            profiles[name] = Profile(
                name, float(matrix["tpWeight"]), float(matrix["fpWeight"]), float(matrix["fnWeight"])
            )
        except (KeyError, TypeError, ValueError):
            raise NabDataError(
                f"{path}: profile {name!r} is missing or malformed", field="config/profiles.json", fix=fix
            ) from None
    return profiles


def load_corpus(root: Path | str, only: Sequence[str] | None = None) -> NabCorpus:
    """Load and validate a NAB tree; ``only`` keeps just the named files (``group/name.csv``)."""
    base = Path(root)
    labels_path = base / "labels" / "combined_windows.json"
    where = "a NAB tree holds data/<group>/<name>.csv, labels/combined_windows.json and config/profiles.json"
    if not (base / "data").is_dir():
        raise NabDataError(f"{base}: no data/ directory", field="data", fix=where)
    try:
        labels = json.loads(labels_path.read_text(encoding="utf-8"))
    except OSError:
        raise NabDataError(f"{labels_path}: cannot be read", field="labels", fix=where) from None
    except ValueError as exc:
        raise NabDataError(f"{labels_path}: not JSON ({exc})", field="labels", fix=where) from None
    if not isinstance(labels, dict):
        raise NabDataError(f"{labels_path}: not an object of file -> windows", field="labels", fix=where)
    profiles = load_profiles(base / "config" / "profiles.json")
    on_disk = sorted(p.relative_to(base / "data").as_posix() for p in (base / "data").glob("*/*.csv"))
    missing = sorted(set(labels) - set(on_disk))
    if missing:
        raise NabDataError(
            f"{base}: {len(missing)} labelled file(s) missing under data/, e.g. {missing[0]}",
            field="data",
            fix="copy the whole data/ tree from numenta/NAB",
        )
    unlabelled = sorted(set(on_disk) - set(labels))
    if unlabelled:
        raise NabDataError(
            f"{base}: data/{unlabelled[0]} has no entry in labels/combined_windows.json",
            field="labels",
            fix="add the file to the labels (an empty list if it has no anomaly) or remove it",
        )
    names = on_disk if only is None else sorted(only)
    files = []
    for name in names:
        if name not in labels:
            raise NabDataError(f"{name}: not a file of the corpus", field="only", fix="name files as group/name.csv")
        stamps, times, values = _read_data(base / "data" / name, name)
        files.append(NabFile(name, stamps, times, values, _window_rows(name, times, labels[name])))
    return NabCorpus(tuple(files), profiles)
