"""REST API of the Incidents timeline: ``GET /api/v1/incidents`` (READ), the page's data as JSON.

Incidents are built from the audit ledger alone (see :mod:`finpilot.console._page_incidents`);
each phase names its entry's index, which ``/api/v1/audit/entries/{index}`` serves.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request

from finpilot.console._api_models import IncidentList
from finpilot.console._auth import require
from finpilot.console._http import ERRORS
from finpilot.console._page_incidents import DEFAULT_ENTRIES, Entries, recent_incidents
from finpilot.console._roles import Permission
from finpilot.console._state import console_state
from finpilot.console._tokens import Principal

router = APIRouter(prefix="/api/v1/incidents", tags=["incidents"], responses=ERRORS)

Reader = Annotated[Principal, Depends(require(Permission.READ))]


@router.get(
    "", response_model=IncidentList, summary="Incidents from the audit log: fault, detection, actions, recovery"
)
def incidents(
    request: Request,
    _who: Reader,
    entries: Entries = DEFAULT_ENTRIES,
    status: Annotated[Literal["open", "recovered"] | None, Query(description="only incidents in this state")] = None,
    limit: Annotated[int, Query(ge=1, le=1000, description="at most this many incidents")] = 100,
) -> dict[str, Any]:
    """Newest first. Each incident has its phases with audit indices, ``detection_s`` (first detection minus
    the fault) and ``recovery_s`` (recovery minus the fault); ``from_index`` is the oldest entry read."""
    ledger = console_state(request).ledger
    found, first = recent_incidents(ledger, entries)
    chosen = [i for i in found if status is None or i.status == status][:limit]
    return {"size": ledger.size, "from_index": first, "incidents": [i.to_json() for i in chosen]}
