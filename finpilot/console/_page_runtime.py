"""The Services and Nodes page: the local runtime's nodes, services and replicas.

``GET /runtime`` is the page (READ); console.js refreshes it every few seconds.
``GET /api/v1/runtime/status`` (:mod:`finpilot.console._api_runtime`) gives the same data as JSON.

The runtime runs in its own process (``finpilot runtime up``) with the same data directory;
the console asks it through :class:`~finpilot.heal.RuntimeClient`, which reads the
controller's address and token from ``<data_dir>/runtime``. The token stays in that client:
it is never part of a page, an answer or an error. No runtime is an answer, not an error:
``running: false`` with what to do.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from finpilot.console._pages import login_redirect, page_principal, render
from finpilot.console._state import ConsoleState, NavItem, console_state
from finpilot.core import FinpilotError, NotFoundError
from finpilot.heal import RuntimeClient, state_dir_for

PAGE = NavItem("Runtime", "/runtime")
"""The Services and Nodes page's navigation entry."""

# A page refresh must not hang on a stuck controller; its status call answers in milliseconds.
_TIMEOUT_S = 2.0
_NOT_RUNNING_FIX = "start it with `finpilot runtime up` using the console's data directory"

router = APIRouter(tags=["runtime"])


def runtime_status(state: ConsoleState) -> dict[str, Any]:
    """The runtime's status as the page shows it: ``running``, nodes, services, replicas (with placement).

    ``running`` is False, with ``problem`` and ``fix``, when no runtime uses this data
    directory or its controller does not answer.
    """
    client = RuntimeClient(state_dir_for(state.settings.data_dir), timeout=_TIMEOUT_S)
    try:
        status = client.status()
    except NotFoundError:
        # The client's own message names the data directory, a server path viewers need not see.
        return _not_running("the runtime is not running", _NOT_RUNNING_FIX)
    except FinpilotError as exc:
        return _not_running(exc.message, exc.fix)
    return _with_placement(status)


def _not_running(problem: str, fix: str | None) -> dict[str, Any]:
    return {"running": False, "problem": problem, "fix": fix, "nodes": {}, "services": {}, "replicas": {}}


def _with_placement(status: dict[str, Any]) -> dict[str, Any]:
    nodes: dict[str, Any] = status.get("nodes") or {}
    services: dict[str, Any] = status.get("services") or {}
    replicas: dict[str, Any] = {}
    for iid, replica in (status.get("replicas") or {}).items():
        node = nodes.get(replica.get("node"), {})
        service = services.get(replica.get("service"), {})
        replicas[iid] = {**replica, "pool": node.get("pool"), "classification": service.get("classification")}
    return {**status, "running": True, "problem": None, "fix": None, "replicas": replicas}


def _conditions(node: dict[str, Any]) -> list[str]:
    # Only what a node reports: a list of names (["DiskPressure"]), or a name -> bool mapping.
    raw = node.get("conditions") or []
    named = [name for name, on in raw.items() if on] if isinstance(raw, dict) else list(raw)
    found = [str(name) for name in named]
    if node.get("disk_pressure") and "DiskPressure" not in found:
        found.append("DiskPressure")
    return found


@router.get("/runtime", name="runtime_page", include_in_schema=False)
def runtime_page(request: Request) -> Response:
    """Nodes (status, pool, cordon, conditions), services (replicas, router, pending) and every replica."""
    principal = page_principal(request)
    if principal is None:
        return login_redirect(request)
    status = runtime_status(console_state(request))
    conditions = {name: _conditions(node) for name, node in status["nodes"].items()}
    return render(request, "runtime.html", {"status": status, "conditions": conditions}, principal=principal)
