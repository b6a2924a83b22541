"""The Incidents timeline: faults, their detection, the healer's actions and recovery.

``GET /incidents`` is the page (READ), newest first; console.js refreshes it every few
seconds. ``GET /api/v1/incidents`` (:mod:`finpilot.console._api_incidents`) gives the same as JSON.

Incidents are built from the audit ledger alone, by :func:`finpilot.heal.build_incidents`,
over its newest entries (``entries``, default 10,000): the page shows what the log proves,
and each phase links to its entry (``/api/v1/audit/entries/{index}``), which an inclusion
proof can then tie to a signed checkpoint.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from finpilot.audit import Ledger, StoredEntry
from finpilot.console._pages import login_redirect, page_principal, render
from finpilot.console._state import NavItem, console_state
from finpilot.heal import Incident, build_incidents

PAGE = NavItem("Incidents", "/incidents")
"""The Incidents timeline's navigation entry."""

DEFAULT_ENTRIES = 10_000
"""How many of the newest audit entries the timeline reads unless told otherwise."""

_MAX_ENTRIES = 100_000
_CHUNK = 10_000  # the ledger's largest tail read
_PAGE_INCIDENTS = 50
_TIMELINE_W, _TIMELINE_H, _PAD = 600, 24, 8

router = APIRouter(tags=["incidents"])

Entries = Annotated[int, Query(ge=1, le=_MAX_ENTRIES, description="how many of the newest audit entries to read")]


def recent_incidents(ledger: Ledger, entries: int = DEFAULT_ENTRIES) -> tuple[list[Incident], int | None]:
    """Incidents among the newest ``entries`` audit entries, newest first, and the oldest index read.

    An incident that opened before that window is not shown (its later entries are skipped).
    """
    records: list[StoredEntry] = []
    before: int | None = None
    while len(records) < entries:
        chunk = ledger.tail(min(entries - len(records), _CHUNK), before)
        if not chunk:
            break
        records.extend(chunk)
        before = chunk[-1].index
        if before == 0:
            break
    incidents = build_incidents(records)
    incidents.reverse()
    return incidents, (records[-1].index if records else None)


def _timeline(incident: Incident) -> list[dict[str, Any]]:
    # One mark per phase on a line from the opening entry to the last one, in seconds.
    timed = [p for p in incident.phases if p.since_open_s is not None]
    span = max((p.since_open_s or 0.0 for p in timed), default=0.0) or 1.0
    usable = _TIMELINE_W - 2 * _PAD
    return [
        {
            "x": round(_PAD + (p.since_open_s or 0.0) / span * usable, 2),
            "phase": p.phase,
            "index": p.index,
            "title": f"{p.phase} +{p.since_open_s:.3f} s: {p.kind} {p.action} ({p.outcome}), entry {p.index}",
        }
        for p in timed
    ]


@router.get("/incidents", name="incidents_page", include_in_schema=False)
def incidents_page(request: Request, entries: Entries = DEFAULT_ENTRIES) -> Response:
    """Each incident, newest first: what failed, when it was detected, what was done, when it recovered."""
    principal = page_principal(request)
    if principal is None:
        return login_redirect(request)
    ledger = console_state(request).ledger
    incidents, first = recent_incidents(ledger, entries)
    shown = incidents[:_PAGE_INCIDENTS]
    context = {
        "incidents": shown,
        "total": len(incidents),
        "open_count": sum(1 for i in incidents if i.status == "open"),
        "timelines": {i.id: _timeline(i) for i in shown},
        "first": first,
        "size": ledger.size,
        "timeline_w": _TIMELINE_W,
        "timeline_h": _TIMELINE_H,
    }
    return render(request, "incidents.html", context, principal=principal)
