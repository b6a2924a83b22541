"""REST API of the Services and Nodes page: ``GET /api/v1/runtime/status`` (READ).

The console asks the runtime's controller (its own API, on 127.0.0.1) through
:class:`~finpilot.heal.RuntimeClient`; see :mod:`finpilot.console._page_runtime`. The
controller's token never leaves that client.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request

from finpilot.console._api_models import RuntimeView
from finpilot.console._auth import require
from finpilot.console._http import ERRORS
from finpilot.console._page_runtime import runtime_status
from finpilot.console._roles import Permission
from finpilot.console._state import console_state
from finpilot.console._tokens import Principal

router = APIRouter(prefix="/api/v1/runtime", tags=["runtime"], responses=ERRORS)

Reader = Annotated[Principal, Depends(require(Permission.READ))]


@router.get(
    "/status",
    response_model=RuntimeView,
    summary="The local runtime's nodes, services and replicas (the Runtime page's data)",
)
def status(request: Request, _who: Reader) -> dict[str, Any]:
    """``{running, problem, fix, nodes, services, replicas}``; each replica with its node's pool and its
    service's classification. ``running: false`` when no runtime answers for this data directory."""
    return runtime_status(console_state(request))
