"""NAB's scorer: window-weighted rewards, one threshold per profile for the whole corpus.

The rules (restated in ``shared/data/nab/README.md`` from the benchmark's paper and scorer):
the first ``min(floor(0.15 n), 750)`` rows of a file are not scored; a detection inside an
anomaly window earns a reward that falls along a scaled sigmoid from the window's left edge to
its right edge, and only the best (earliest) detection of a window counts; a window with no
detection costs the profile's ``fnWeight``; a detection outside every window costs more the
further it lies past the last window (and the most before the first one).

The threshold sweep is O(n log n) over all scored rows of the corpus: rows are sorted by
anomaly score, descending, once; walking down that order, each row adds its false-positive cost
or raises its window's best reward, so the corpus total after each group of equal scores is a
running sum (numpy ``cumsum`` of per-row increments, the window maxima by a segmented cumulative
maximum). The best total over every distinct score (and "no detection") wins.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from finpilot.watch._errors import NabDataError
from finpilot.watch._nab._corpus import PROFILE_NAMES, FloatArray, NabCorpus, NabFile, Profile

NO_DETECTION_THRESHOLD = 1.1
"""The threshold reported when firing nowhere scores best (NAB's sweep starts there too)."""

IntArray = np.ndarray[tuple[int], np.dtype[np.int64]]


def probation_rows(rows: int) -> int:
    """The number of leading rows of a file that are not scored: ``min(floor(0.15 n), 750)``."""
    return int(min(math.floor(0.15 * rows), 0.15 * 5000))


def scaled_sigmoid(position: FloatArray) -> FloatArray:
    """NAB's scaled sigmoid of a relative position: ``2 / (1 + exp(5 p)) - 1``, and -1 from p = 3."""
    with np.errstate(over="ignore"):
        value = 2.0 * (1.0 / (1.0 + np.exp(5.0 * position))) - 1.0
    return np.where(position >= 3.0, -1.0, value)


_MAX_TP = float(scaled_sigmoid(np.array([-1.0]))[0])


@dataclass(frozen=True)
class _Layout:
    """Where every scored row of one file stands: its sigmoid value and its window (or -1)."""

    first: int
    sigmoid: FloatArray
    window: IntArray


def _layout(nab_file: NabFile) -> _Layout:
    n = nab_file.rows
    position = np.full(n, 3.0)  # before the first window: the farthest false positive
    window = np.full(n, -1, dtype=np.int64)
    rows = np.arange(n, dtype=np.float64)
    for k, (left, right) in enumerate(nab_file.windows):
        width = right - left + 1
        position[left : right + 1] = -(right - rows[left : right + 1] + 1) / width
        window[left : right + 1] = k
        end = nab_file.windows[k + 1][0] if k + 1 < len(nab_file.windows) else n
        position[right + 1 : end] = np.abs(right - rows[right + 1 : end]) / float(width - 1)
    first = probation_rows(n)
    return _Layout(first, scaled_sigmoid(position[first:]), window[first:])


def _weights(layout: _Layout, profile: Profile) -> FloatArray:
    inside = layout.window >= 0
    return np.where(inside, layout.sigmoid * profile.tp_weight / _MAX_TP, layout.sigmoid * profile.fp_weight)


@dataclass(frozen=True)
class FileScore:
    """One file's score under each profile, at the corpus threshold of that profile."""

    name: str
    rows: int
    windows: int
    scores: Mapping[str, float]
    detected_windows: Mapping[str, int]
    false_positives: Mapping[str, int]


@dataclass(frozen=True)
class ProfileScore:
    """The corpus score under one profile."""

    profile: str
    threshold: float
    raw: float
    null: float
    perfect: float

    @property
    def normalised(self) -> float:
        """``100 * (raw - null) / (perfect - null)``: 0 never fires, 100 is perfect."""
        return 100.0 * (self.raw - self.null) / (self.perfect - self.null)


@dataclass(frozen=True)
class NabScore:
    """A scored run: one :class:`ProfileScore` per profile and every file's part of it."""

    profiles: Mapping[str, ProfileScore]
    files: tuple[FileScore, ...]

    def normalised(self, profile: str) -> float:
        """The normalised score under ``profile``."""
        return self.profiles[profile].normalised


def _checked(corpus: NabCorpus, scores: Mapping[str, FloatArray]) -> list[FloatArray]:
    out: list[FloatArray] = []
    for f in corpus.files:
        if f.name not in scores:
            raise NabDataError(f"no anomaly scores for {f.name}", field=f.name, fix="give a score for every file")
        s = np.asarray(scores[f.name], dtype=np.float64)
        if s.shape != (f.rows,):
            raise NabDataError(
                f"{f.name}: {s.size} anomaly scores for {f.rows} rows",
                field=f.name,
                fix="give one anomaly score per data row",
            )
        if not np.all(np.isfinite(s)):
            bad = int(np.flatnonzero(~np.isfinite(s))[0])
            raise NabDataError(
                f"{f.name} row {bad + 1}: anomaly score {s[bad]} is not finite",
                field=f.name,
                fix="every anomaly score is a finite number (NAB's are in [0, 1])",
            )
        out.append(s)
    return out


def sweep_threshold(score: FloatArray, weight: FloatArray, window: IntArray, fn_weight: float) -> tuple[float, float]:
    """The best threshold and its total over rows pooled from a whole corpus.

    ``window`` holds a corpus-wide window id per row (-1 outside every window); every window id
    from 0 to ``window.max()`` is a window that starts at ``-fn_weight``. Detections are the
    rows whose score is >= the threshold.
    """
    windows = int(window.max()) + 1 if window.size else 0
    base = -fn_weight * windows
    if score.size == 0:
        return NO_DETECTION_THRESHOLD, base
    order = np.argsort(-score, kind="stable")
    s, w, win = score[order], weight[order], window[order]
    delta = np.where(win < 0, w, 0.0)
    inside = np.flatnonzero(win >= 0)
    if inside.size:
        # Group the in-window rows by window, keeping the descending-score order inside each
        # group (stable sort), then a segmented running maximum gives each window's best reward
        # after each of its rows is detected; the increments of that maximum add to the total.
        grouped = inside[np.argsort(win[inside], kind="stable")]
        gw = win[grouped]
        starts = np.flatnonzero(np.r_[True, gw[1:] != gw[:-1]])
        ends = np.r_[starts[1:], gw.size]
        best = np.empty(gw.size)
        for a, b in zip(starts.tolist(), ends.tolist(), strict=True):
            best[a:b] = np.maximum.accumulate(np.maximum(w[grouped[a:b]], -fn_weight))
        before = np.empty_like(best)
        before[1:] = best[:-1]
        before[starts] = -fn_weight
        delta[grouped] = best - before
    totals = base + np.cumsum(delta)
    # Only the last row of a run of equal scores is a threshold: all of them fire together.
    last = np.flatnonzero(np.r_[s[1:] != s[:-1], True])
    pick = int(np.argmax(totals[last]))
    if totals[last][pick] <= base:
        top = float(s[0])
        return (NO_DETECTION_THRESHOLD if top < NO_DETECTION_THRESHOLD else math.nextafter(top, math.inf)), base
    return float(s[last[pick]]), float(totals[last][pick])


def _file_score(
    layout: _Layout, score: FloatArray, profile: Profile, threshold: float, windows: int
) -> tuple[float, int, int]:
    weight = _weights(layout, profile)
    hit = score[layout.first :] >= threshold
    outside = layout.window < 0
    fp = float(np.sum(weight[hit & outside]))
    best = np.full(windows, -profile.fn_weight)
    inside = hit & ~outside
    np.maximum.at(best, layout.window[inside], weight[inside])
    scored = np.unique(layout.window[layout.window >= 0])  # windows with scored rows
    return fp + float(np.sum(best[scored])), int(np.sum(best[scored] > -profile.fn_weight)), int(np.sum(hit & outside))


def score_corpus(
    corpus: NabCorpus, scores: Mapping[str, FloatArray], thresholds: Mapping[str, float] | None = None
) -> NabScore:
    """Score one anomaly score per row of every file of ``corpus``.

    The threshold of each profile is the one that maximises the corpus total (a full sweep over
    every distinct score), unless ``thresholds`` fixes it (e.g. a published detector's). A
    window whose rows all fall in the probation period is not scored (NAB does the same).
    """
    if not corpus.files:
        raise NabDataError("the corpus has no files", field="data", fix="load a NAB tree with data/<group>/<name>.csv")
    arrays = _checked(corpus, scores)
    layouts = [_layout(f) for f in corpus.files]
    offsets = np.cumsum([0] + [len(f.windows) for f in corpus.files]).tolist()
    # One corpus-wide id per window, numbered 0..m-1 over the windows that have scored rows.
    pooled = np.concatenate(
        [np.where(lay.window >= 0, lay.window + off, -1) for lay, off in zip(layouts, offsets[:-1], strict=True)]
    )
    inside = pooled >= 0
    window_ids, compact_inside = np.unique(pooled[inside], return_inverse=True)
    compact = np.full(pooled.size, -1, dtype=np.int64)
    compact[inside] = compact_inside
    scored_windows = int(window_ids.size)
    if scored_windows == 0:
        raise NabDataError(
            "the corpus has no anomaly window outside the probation period",
            field="labels",
            fix="a score is normalised by its windows: use labels with at least one window",
        )
    pooled_score = np.concatenate([s[lay.first :] for s, lay in zip(arrays, layouts, strict=True)])
    chosen: dict[str, float] = {}
    for name in PROFILE_NAMES:
        profile = corpus.profiles[name]
        if thresholds is not None and name in thresholds:
            chosen[name] = float(thresholds[name])
        else:
            pooled_weight = np.concatenate([_weights(lay, profile) for lay in layouts])
            chosen[name], _ = sweep_threshold(pooled_score, pooled_weight, compact, profile.fn_weight)
    # The corpus score is the sum of the per-file scores recomputed at the chosen thresholds, so
    # the two always agree exactly (the sweep's running sum only picks the threshold).
    files: list[FileScore] = []
    raw = dict.fromkeys(PROFILE_NAMES, 0.0)
    for f, lay, s in zip(corpus.files, layouts, arrays, strict=True):
        per: dict[str, float] = {}
        detected: dict[str, int] = {}
        fps: dict[str, int] = {}
        for name in PROFILE_NAMES:
            value, hits, fp = _file_score(lay, s, corpus.profiles[name], chosen[name], len(f.windows))
            per[name], detected[name], fps[name] = value, hits, fp
            raw[name] += value
        files.append(FileScore(f.name, f.rows, len(f.windows), per, detected, fps))
    profiles = {
        name: ProfileScore(
            name,
            chosen[name],
            raw[name],
            -corpus.profiles[name].fn_weight * scored_windows,
            corpus.profiles[name].tp_weight * scored_windows,
        )
        for name in PROFILE_NAMES
    }
    return NabScore(profiles, tuple(files))
