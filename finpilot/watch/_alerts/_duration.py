"""Durations as rule files write them: ``30s``, ``5m``, ``2h``, ``1d``, ``1h30m``, or plain seconds."""

from __future__ import annotations

import math
import re
from typing import Annotated, Any

from pydantic import BeforeValidator

from finpilot.core import FieldProblem
from finpilot.watch._errors import AlertConfigError

_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d|w)")
_UNIT_S = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, "w": 7 * 86400.0}


def parse_duration(value: Any) -> float:
    """Seconds in ``value`` (a number of seconds, or text such as ``5m`` or ``1h30m``); raise ``FieldProblem``."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        seconds = float(value)
    elif isinstance(value, str) and value.strip():
        text = value.strip()
        parts = _PART.findall(text)
        if not parts or "".join(n + u for n, u in parts) != text:
            raise FieldProblem(f"'{value}' is not a duration", fix="write e.g. 30s, 5m, 2h, 1d or 1h30m")
        seconds = sum(float(n) * _UNIT_S[u] for n, u in parts)
    else:
        raise FieldProblem(f"{value!r} is not a duration", fix="write e.g. 30s, 5m, 2h, 1d or 1h30m")
    if not math.isfinite(seconds) or seconds < 0:
        raise FieldProblem(f"'{value}' is not a duration of zero or more seconds", fix="write e.g. 5m")
    return seconds


Duration = Annotated[float, BeforeValidator(parse_duration)]
"""A pydantic field type: seconds, written as a number or as ``5m``-style text."""


def duration_seconds(text: str, *, field: str) -> float:
    """Seconds in ``text`` (``2h``, ``30m``...) for an option or API field; raise :class:`AlertConfigError`."""
    try:
        return parse_duration(text)
    except FieldProblem as exc:
        raise AlertConfigError(exc.problem, field=field, fix=exc.fix) from None
