"""Load a NAB-style load trace (``timestamp,value`` CSV) and turn it into demand per step.

The model: each value is rescaled so that the trace's peak needs ``peak_replicas`` replicas; a
value stands at the middle of its interval (the interval is the trace's usual spacing); demand at
each step is the linear interpolation between those middles, flat before the first and after the
last. The simulation covers the whole span of the intervals, from the first timestamp to the end
of the last interval.

Gaps (a spacing longer than 1.5 intervals) are bridged by the same linear interpolation and
reported; a gap longer than ``max_gap_intervals`` intervals is a :class:`TraceError` naming the
rows, since a straight line across hours of missing load is a guess, not a replay.
"""

from __future__ import annotations

import csv
import itertools
import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from finpilot.watch._errors import TraceError
from finpilot.watch._scale._model import CapacityModel

MAX_GAP_INTERVALS = 12
"""The longest gap bridged by interpolation, in intervals (an hour at NAB's 5-minute spacing)."""


@dataclass(frozen=True)
class Gap:
    """Missing rows between two rows of a trace, bridged by interpolation."""

    after_row: int
    """The CSV line number (1 = header) of the row before the gap."""
    start: float
    end: float

    @property
    def seconds(self) -> float:
        """The gap's length."""
        return self.end - self.start


@dataclass(frozen=True)
class Trace:
    """A load trace resampled to the model's step: demand (req/s) at every step time."""

    name: str
    times: Sequence[float]
    """Unix seconds of every step, ``step_s`` apart."""
    demand: Sequence[float]
    """Requests per second at every step, after rescaling."""
    interval_s: float
    """The source's usual spacing between rows."""
    rows: int
    scale: float
    """The factor applied to the source values."""
    gaps: Sequence[Gap]

    def gaps_dict(self) -> dict[str, object]:
        """The bridged gaps, for JSON output."""
        return {
            "count": len(self.gaps),
            "seconds": sum(g.seconds for g in self.gaps),
            "longest_s": max((g.seconds for g in self.gaps), default=0.0),
            "rows": [g.after_row for g in self.gaps][:20],
        }


def _parse_time(text: str, line: int, path: Path) -> float:
    try:
        parsed = datetime.fromisoformat(text.strip())
    except ValueError:
        try:
            return float(text)
        except ValueError:
            raise TraceError(
                f"{path}: line {line}: timestamp {text!r} is neither ISO 8601 nor Unix seconds",
                field="timestamp",
                fix="write it as 'YYYY-MM-DD HH:MM:SS' (UTC)",
            ) from None
    if parsed.tzinfo is None:
        # NAB's timestamps carry no zone; read them as UTC so results do not depend on the host.
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.timestamp()


def read_rows(path: Path) -> tuple[list[float], list[float]]:
    """The (timestamps, values) of a ``timestamp,value`` CSV, checked row by row."""
    try:
        handle = path.open(newline="", encoding="utf-8")
    except OSError as exc:
        raise TraceError(
            f"{path}: cannot read the trace ({exc.strerror})", field="trace", fix="check the --trace path"
        ) from exc
    times: list[float] = []
    values: list[float] = []
    with handle:
        reader = csv.reader(handle)
        header = next(reader, None)
        if header is None or [h.strip().lower() for h in header[:2]] != ["timestamp", "value"]:
            raise TraceError(
                f"{path}: line 1 must be the header 'timestamp,value' (got {header!r})",
                field="header",
                fix="start the file with the line 'timestamp,value'",
            )
        for line, row in enumerate(reader, start=2):
            if not row or all(not cell.strip() for cell in row):
                continue
            if len(row) < 2:
                raise TraceError(f"{path}: line {line}: expected 'timestamp,value', got {row!r}", field="row")
            t = _parse_time(row[0], line, path)
            try:
                v = float(row[1])
            except ValueError:
                raise TraceError(f"{path}: line {line}: value {row[1]!r} is not a number", field="value") from None
            if not math.isfinite(v) or v < 0:
                raise TraceError(f"{path}: line {line}: value {row[1]!r} must be a finite load >= 0", field="value")
            if times and t <= times[-1]:
                raise TraceError(
                    f"{path}: line {line}: timestamp {row[0]!r} is not after the previous row's",
                    field="timestamp",
                    fix="sort the trace by time and drop duplicate rows",
                )
            times.append(t)
            values.append(v)
    if len(times) < 2:
        raise TraceError(f"{path}: a trace needs at least two rows of 'timestamp,value'", field="trace")
    if max(values) <= 0:
        raise TraceError(f"{path}: every value is 0; there is no load to scale to", field="value")
    return times, values


def find_gaps(times: Sequence[float], interval: float) -> list[Gap]:
    """Every spacing longer than 1.5 intervals (row numbers count the header as line 1)."""
    return [
        Gap(after_row=i + 2, start=a, end=b)
        for i, (a, b) in enumerate(itertools.pairwise(times))
        if b - a > 1.5 * interval
    ]


def resample(
    times: Sequence[float], values: Sequence[float], interval: float, step: float
) -> tuple[list[float], list[float]]:
    """Step times over the intervals' span and the linear interpolation between their middles."""
    mids = [t + interval / 2 for t in times]
    start, end = times[0], times[-1] + interval
    count = int((end - start) // step)
    out_t: list[float] = []
    out_v: list[float] = []
    j = 0
    for k in range(count):
        t = start + k * step
        while j + 1 < len(mids) and mids[j + 1] <= t:
            j += 1
        if t <= mids[0]:
            v = values[0]
        elif j + 1 >= len(mids):
            v = values[-1]
        else:
            frac = (t - mids[j]) / (mids[j + 1] - mids[j])
            v = values[j] + frac * (values[j + 1] - values[j])
        out_t.append(t)
        out_v.append(v)
    return out_t, out_v


def load_trace(path: Path, model: CapacityModel | None = None, max_gap_intervals: float = MAX_GAP_INTERVALS) -> Trace:
    """Read, check, rescale and resample a trace; raise :class:`TraceError` naming the bad row."""
    model = model or CapacityModel()
    times, values = read_rows(path)
    interval = statistics.median(b - a for a, b in itertools.pairwise(times))
    gaps = find_gaps(times, interval)
    too_long = [g for g in gaps if g.seconds > max_gap_intervals * interval]
    if too_long:
        where = ", ".join(f"after line {g.after_row} ({g.seconds / 60:.0f} min)" for g in too_long[:5])
        raise TraceError(
            f"{path}: {len(too_long)} gap(s) longer than {max_gap_intervals:g} intervals "
            f"({max_gap_intervals * interval / 60:.0f} min): {where}",
            field="timestamp",
            fix="split the trace at the gap or fill the missing rows (shorter gaps are bridged by "
            "linear interpolation)",
        )
    scale = model.peak_replicas * model.per_replica / max(values)
    step_t, step_v = resample(times, [v * scale for v in values], interval, model.step_s)
    if len(step_t) < 2 * model.startup_steps:
        raise TraceError(
            f"{path}: the trace spans less than two start-up delays", field="trace", fix="give a longer trace"
        )
    return Trace(
        name=path.stem,
        times=step_t,
        demand=step_v,
        interval_s=interval,
        rows=len(times),
        scale=scale,
        gaps=gaps,
    )
