"""Durations as people and PromQL write them: ``15s``, ``5m``, ``1h30m``, ``2d``, ``500ms``, or plain seconds."""

from __future__ import annotations

import math
import re

from finpilot.watch._errors import QueryError

_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, "w": 7 * 86400.0, "y": 365 * 86400.0}
_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d|w|y)")


def parse_duration(text: str, *, field: str = "duration") -> float:
    """Seconds in ``text`` (``90``, ``1.5``, ``15s``, ``1h30m``); raises :class:`QueryError` naming ``field``."""
    raw = text.strip()
    seconds: float | None = None
    try:
        seconds = float(raw)
    except ValueError:
        pos, total = 0, 0.0
        for match in _PART.finditer(raw):
            if match.start() != pos:
                break
            total += float(match.group(1)) * _UNITS[match.group(2)]
            pos = match.end()
        if raw and pos == len(raw):
            seconds = total
    if seconds is None or not math.isfinite(seconds) or seconds <= 0:
        raise QueryError(
            f"{field}: {text!r} is not a positive duration", field=field, fix="write e.g. 15s, 5m, 1h30m, 2d or 90"
        )
    return seconds
