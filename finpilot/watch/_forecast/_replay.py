"""Forecast the steps after a recorded trace: what ``finpilot watch forecast`` prints."""

from __future__ import annotations

import itertools
import statistics
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from finpilot.watch._forecast._choose import make_forecaster
from finpilot.watch._scale._trace import find_gaps, read_rows


def forecast_trace(path: Path, horizon: int = 12, model: str = "seasonal", level: float = 0.9) -> dict[str, object]:
    """Feed a ``timestamp,value`` trace to a forecaster at its own step; forecast ``horizon`` steps.

    Gaps are bridged by linear interpolation (reported in ``gaps``). The result is the JSON shape
    of ``watch forecast``: the trace, the model, and one point per step ahead.
    """
    times, values = read_rows(path)
    step = statistics.median(b - a for a, b in itertools.pairwise(times))
    gaps = find_gaps(times, step)
    # Onto the trace's own step at the row times: the forecast is of the series as recorded.
    count = round((times[-1] - times[0]) / step) + 1
    grid = np.linspace(times[0], times[0] + (count - 1) * step, count)
    grid_t = [float(t) for t in grid]
    grid_v = [float(v) for v in np.interp(grid, times, values)]
    forecaster = make_forecaster(model, step, level, track=horizon)
    for t, v in zip(grid_t, grid_v, strict=True):
        forecaster.update(t, v)
    fc = forecaster.forecast(horizon)
    return {
        "trace": path.stem,
        "model": fc.model,
        "level": fc.level,
        "step_s": step,
        "horizon": horizon,
        "observations": len(grid_t),
        "gaps": len(gaps),
        "points": [
            {
                "time": datetime.fromtimestamp(t, tz=UTC).isoformat(),
                "timestamp": t,
                "mean": m,
                "lower": lo,
                "upper": hi,
            }
            for t, m, lo, hi in zip(fc.timestamps, fc.mean, fc.lower, fc.upper, strict=True)
        ],
    }
