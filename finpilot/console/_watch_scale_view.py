"""What the Metrics page shows of the predictive autoscaler: its actions and its latest forecast.

Both come from the audit ledger's ``watch.scale`` entries (the autoscaler's own record, with the
forecast as evidence), so the console shows what was done and why even when it did not run the
autoscaler itself. Only the newest :data:`SCAN_ENTRIES` entries are looked at: the page shows a
recent window.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from finpilot.audit import Ledger
from finpilot.audit.kinds import WATCH_SCALE
from finpilot.console._chart import ChartBand, ChartLine

SCAN_ENTRIES = 5_000
"""How many of the newest ledger entries are searched for scaling actions."""
KIND = WATCH_SCALE.name


def _when(fields: dict[str, Any]) -> float | None:
    try:
        return datetime.fromisoformat(str(fields["time"]).replace("Z", "+00:00")).timestamp()
    except (KeyError, ValueError):
        return None


def scale_actions(ledger: Ledger, start: float, end: float) -> list[tuple[float, dict[str, Any]]]:
    """``(time, evidence)`` of every scaling action in ``[start, end]``, oldest first."""
    found = []
    for stored in reversed(ledger.tail(min(SCAN_ENTRIES, max(1, ledger.size)))) if ledger.size else []:
        fields = stored.fields
        if fields.get("kind") != KIND:
            continue
        at = _when(fields)
        if at is not None and start <= at <= end:
            found.append((at, dict(fields.get("evidence") or {})))
    return found


def scale_label(evidence: dict[str, Any]) -> str:
    """``payments 2→4 (predictive)``."""
    return (
        f"{evidence.get('service', '?')} {evidence.get('from_replicas', '?')}→{evidence.get('to_replicas', '?')}"
        f" ({evidence.get('reason', '?')})"
    )


def scale_marks(ledger: Ledger) -> Callable[[float, float], list[tuple[float, str]]]:
    """A ``ConsoleState.watch_marks`` provider: one mark per scaling action."""

    def marks(start: float, end: float) -> list[tuple[float, str]]:
        return [(at, scale_label(ev)) for at, ev in scale_actions(ledger, start, end)]

    return marks


def latest_forecast(ledger: Ledger, start: float, end: float) -> tuple[ChartLine, ChartBand] | None:
    """The newest action's forecast in the window: its mean as a line and its interval as a band."""
    for _at, evidence in reversed(scale_actions(ledger, start, end)):
        forecast = evidence.get("forecast") or {}
        points = forecast.get("points")
        if not points:
            continue
        service = evidence.get("service", "?")
        mean = [(float(p["t"]), float(p["mean"])) for p in points]
        lower = [(float(p["t"]), float(p["lower"])) for p in points]
        upper = [(float(p["t"]), float(p["upper"])) for p in points]
        level = float(forecast.get("level", 0.0))
        return (
            ChartLine(f"{service} forecast (mean)", mean),
            ChartBand(f"{service} forecast {level:.0%} interval", lower, upper),
        )
    return None
