"""Live anomaly detection: every round, the newest point of each configured series, scored.

Each configured read (``watch.detect.series``) may yield many series (one per value of its ``by``
labels); each gets a detector of its own, created on first sight, up to ``max_series`` in all so
that a label explosion cannot grow memory without bound (series beyond the cap are counted, not
scored). The detector contract is followed exactly: ``score_one`` on the new point, then
``learn_one``. A score at or above the read's threshold, once the detector has learned
``warmup_points`` points, is an :class:`Anomaly`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from finpilot.core import LiveSeriesSettings
from finpilot.watch._alerts._model import chart_view, narrowed_selector
from finpilot.watch._detect._contract import Anomaly, Detector
from finpilot.watch._detect._registry import DEFAULT_DETECTOR, make_detector
from finpilot.watch._errors import WatchError
from finpilot.watch._metrics._read import read_computed
from finpilot.watch._metrics._types import MetricsQuery, Series

_SeriesKey = tuple[str, tuple[tuple[str, str], ...]]


@dataclass
class _Tracked:
    detector: Detector
    seen: int = 0
    last_t: float = float("-inf")


@dataclass(frozen=True)
class DetectionRound:
    """What one :meth:`LiveDetection.step` did."""

    scored: int
    anomalies: tuple[Anomaly, ...]
    failures: Mapping[str, str] = field(default_factory=dict)
    """``{read name: error}`` for the reads whose query failed this round."""


class LiveDetection:
    """One detector per live series; :meth:`step` reads the newest points and returns the anomalies."""

    def __init__(self, reads: Sequence[LiveSeriesSettings], *, max_series: int = 200) -> None:
        self.reads = list(reads)
        for read in self.reads:
            make_detector(read.detector or DEFAULT_DETECTOR)  # an unknown name fails here, not on first data
        self.max_series = max_series
        self._tracked: dict[_SeriesKey, _Tracked] = {}
        self.untracked = 0
        """How many times a series was not scored because ``max_series`` was reached."""

    @property
    def tracked(self) -> int:
        """How many series have a detector now."""
        return len(self._tracked)

    def step(self, query: MetricsQuery, now: float) -> DetectionRound:
        """Score the value of every configured series at ``now``; a failing read is reported, not raised."""
        anomalies: list[Anomaly] = []
        failures: dict[str, str] = {}
        scored = 0
        for read in self.reads:
            try:
                found = _read(read, query, now)
            except WatchError as exc:
                failures[read.name] = str(exc)
                continue
            for series in found:
                if not series.points:
                    continue
                t, value = series.points[-1]
                if math.isnan(value) or math.isinf(value):
                    continue  # a quantile of no traffic is NaN: nothing to learn from
                labels = _labels(read, series.labels)
                key = (read.name, tuple(sorted(labels.items())))
                tracked = self._tracked.get(key)
                if tracked is None:
                    if len(self._tracked) >= self.max_series:
                        self.untracked += 1
                        continue
                    tracked = self._tracked[key] = _Tracked(make_detector(read.detector or DEFAULT_DETECTOR))
                t = max(t, now)
                if t <= tracked.last_t:
                    continue  # the same instant twice would teach the detector a duplicate
                score = tracked.detector.score_one(t, value)
                tracked.detector.learn_one(t, value)
                tracked.seen += 1
                tracked.last_t = t
                scored += 1
                if (
                    tracked.seen > read.warmup_points
                    and score >= read.threshold
                    and (read.floor is None or value > read.floor)
                ):
                    anomalies.append(
                        Anomaly(
                            series=read.name,
                            labels=labels,
                            timestamp=t,
                            value=value,
                            score=score,
                            detector=read.detector or DEFAULT_DETECTOR,
                            threshold=read.threshold,
                            source=narrowed_selector(
                                read.selector, {k: v for k, v in series.labels.items() if k != "__name__"}
                            ),
                            view=chart_view(
                                read.kind,
                                read.window_s if read.kind != "raw" else None,
                                read.quantile if read.kind == "quantile" else None,
                                read.aggregate,
                                read.by,
                            ),
                        )
                    )
        return DetectionRound(scored, tuple(anomalies), failures)


def _read(read: LiveSeriesSettings, query: MetricsQuery, now: float) -> list[Series]:
    # A one-step range read at ``now``: each series' newest value within the look-back.
    return read_computed(
        query,
        read.selector,
        read.kind,
        now,
        now,
        1.0,
        window=read.window_s,
        quantile=read.quantile,
        aggregate=read.aggregate,
        by=read.by,
    )


def _stored_labels(series: Series) -> dict[str, str]:
    return {k: v for k, v in series.labels.items() if k != "__name__"}


def _labels(read: LiveSeriesSettings, series_labels: Mapping[str, str]) -> dict[str, str]:
    labels = {k: v for k, v in series_labels.items() if k != "__name__"}
    if read.replica_label is not None and labels.get(read.replica_label):
        labels["replica"] = labels[read.replica_label]
    labels.update(read.labels)
    return labels
