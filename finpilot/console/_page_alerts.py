"""The Alerts page: active alerts by severity, silences, recent deliveries and a timeline of firing alerts.

``GET /watch/alerts`` (READ) reads the alert manager the console was given. Each alert links to
the Metrics page on its series over its window (the same parameters as the link its
notifications carry, but relative to this console, so it works whatever
``watch.alerts.console_base_url`` says). The timeline counts the alerts firing over the last
hours, drawn on the server as inline SVG (:mod:`finpilot.console._chart`). Silences are set and
expired through ``/api/v1/watch/silences`` or ``finpilot watch silence``; the page has no forms.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from finpilot.console._api_alerts import NO_ALERTS_FIX
from finpilot.console._chart import Chart, ChartLine, ChartMark, render_chart
from finpilot.console._pages import login_redirect, page_principal, render
from finpilot.console._state import NavItem, console_state
from finpilot.watch import Alert, AlertManager, AlertView

PAGE = NavItem("Alerts", "/watch/alerts")
"""The Alerts page's navigation entry."""

TIMELINE_S = 3 * 3600.0
"""How far back the timeline of firing alerts reaches."""

TIMELINE_STEP_S = 60.0
"""The timeline's resolution."""

NOTIFICATIONS_SHOWN = 20
"""How many of the newest deliveries the page lists."""

SEVERITY_ORDER = ("critical", "warning", "info")
"""Severity sections, most urgent first; any other severity follows in name order."""

router = APIRouter(tags=["watch"])


def metrics_link(alert: Alert) -> str:
    """This console's Metrics page on the alert's series over its window (path and query only)."""
    query = urlencode({"series": alert.series, "start": f"{alert.window_start:.0f}", "end": f"{alert.window_end:.0f}"})
    return f"/watch/metrics?{query}"


def by_severity(views: Sequence[AlertView]) -> list[tuple[str, list[AlertView]]]:
    """The alerts in one section per severity, most urgent first; each keeps the manager's order."""
    sections: dict[str, list[AlertView]] = {}
    for view in views:
        sections.setdefault(view.alert.severity, []).append(view)
    rank = {name: i for i, name in enumerate(SEVERITY_ORDER)}
    order = sorted(sections, key=lambda name: (rank.get(name, len(rank)), name))
    return [(name, sections[name]) for name in order]


def firing_timeline(alerts: Sequence[Alert], now: float) -> Chart:
    """How many alerts were firing at each step of the last :data:`TIMELINE_S`, marks where each fired.

    Only alerts the manager still keeps count: a resolved alert is dropped after
    ``watch.alerts.resolved_retention_s`` (15 min by default), so older ones are not in it.
    """
    start = now - TIMELINE_S
    spans = [
        (alert.fired_at, alert.resolved_at if alert.resolved_at is not None else math.inf)
        for alert in alerts
        if alert.fired_at is not None
    ]
    steps = int(TIMELINE_S // TIMELINE_STEP_S)
    points = []
    for k in range(steps + 1):
        t = start + k * TIMELINE_STEP_S
        points.append((t, float(sum(1 for fired, ended in spans if fired <= t < ended))))
    marks = [
        ChartMark(alert.fired_at, f"{alert.name} fired")
        for alert in alerts
        if alert.fired_at is not None and alert.fired_at >= start
    ]
    return Chart(lines=[ChartLine("firing alerts", points)], marks=marks, height=120)


def utc(seconds: float) -> str:
    """``2026-12-07 08:30:00 UTC``."""
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _view(view: AlertView) -> dict[str, Any]:
    alert = view.alert
    return {
        "alert": alert,
        "link": metrics_link(alert),
        "silenced_by": view.silenced_by,
        "inhibited": view.inhibited,
        "summary": alert.annotations.get("summary", ""),
        "labels": sorted((k, v) for k, v in alert.labels.items() if k not in ("alertname", "severity")),
    }


def alerts_context(manager: AlertManager, limit: int = NOTIFICATIONS_SHOWN) -> dict[str, Any]:
    """Everything the template shows, read from the manager at once."""
    now = manager.now()
    views = manager.active_alerts()
    return {
        "now": now,
        "sections": [(name, [_view(v) for v in group]) for name, group in by_severity(views)],
        "counts": {state: sum(1 for v in views if v.alert.state == state) for state in ("firing", "pending")},
        "silences": [s.to_json(now) for s in manager.silences()],
        "notifications": manager.notifications(limit),
        "timeline": render_chart(firing_timeline([v.alert for v in views], now)),
        "timeline_hours": TIMELINE_S / 3600,
    }


@router.get("/watch/alerts", name="alerts_page", include_in_schema=False)
async def alerts_page(request: Request) -> Response:
    """Active alerts by severity, silences, recent deliveries; or how to enable alerts."""
    principal = page_principal(request)
    if principal is None:
        return login_redirect(request)
    manager = console_state(request).alerts
    context: dict[str, Any] = {"enabled": manager is not None, "no_alerts_fix": NO_ALERTS_FIX, "utc": utc}
    if manager is not None:
        context.update(await run_in_threadpool(alerts_context, manager))
    return render(request, "watch_alerts.html", context, principal=principal)
