"""The controller API as a FastAPI app: resource nouns under ``/api/v1``, one bearer token.

::

    GET  /api/v1/status                      nodes, services, replicas
    POST /api/v1/nodes/{name}/drain          cordon the node and move its replicas off
    POST /api/v1/nodes/{name}/up             a fresh agent for a node lost to node-down
    POST /api/v1/chaos/faults                inject kill, hang, latency, node-down or disk-full (or clear it)
    PUT  /api/v1/spec                        apply a finpilot.yaml text's runtime section
    POST /api/v1/spec/rollbacks              the spec before the last change (404 when there is none)
    GET  /api/v1/services/{name}/arms        a service's replica groups (stable, release arms)
    PUT  /api/v1/services/{name}/arms        declare its release arms (progressive delivery)
    PUT  /api/v1/services/{name}/shares      split its router's traffic between the groups
    GET  /api/v1/services/{name}/samples     per group, the requests finished since ?since=
    PUT  /api/v1/services/{name}/replicas    scale a service (the predictive autoscaler's call)

Errors get the status and body of every finpilot server (:mod:`finpilot.core._http_errors`):
a missing or wrong token is 401, an unknown node or service 404, bad input 422. A body over
``max_body_bytes`` is refused (413) before it is parsed or the token is checked, and every
response, a 500 included, carries the JSON API's security headers (:func:`finpilot.core.edge`).
``/openapi.json`` describes every route; it needs no token and holds none.
"""

from __future__ import annotations

import hmac
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp

from finpilot import __version__
from finpilot.core import (
    AuthError,
    FinpilotError,
    InputError,
    NotFoundError,
    edge,
    error_body,
    error_headers,
    error_responses,
    http_status,
    validation_error,
)
from finpilot.heal._api._models import (
    ActorBody,
    ArmsBody,
    ArmsSet,
    ArmsState,
    DrainStarted,
    FaultBody,
    FaultInjected,
    GroupSamples,
    NodeRestarted,
    RollbackBody,
    RuntimeStatus,
    ScaleBody,
    ServiceScaled,
    SharesBody,
    SharesSet,
    SpecApplied,
    SpecBody,
    SpecRolledBack,
)
from finpilot.heal._runtime._arms import ArmSpec

if TYPE_CHECKING:
    from finpilot.heal._runtime._controller import Controller

_bearer = HTTPBearer(auto_error=False, description="the token in <data_dir>/runtime/controller.token")


def _controller(request: Request) -> Controller:
    controller: Controller = request.app.state.controller
    return controller


def _authorised(
    request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
) -> None:
    offered = credentials.credentials if credentials is not None else ""
    if not hmac.compare_digest(offered.encode(), str(request.app.state.token).encode()):
        raise AuthError("missing or wrong controller token", field="Authorization")


Ctl = Annotated["Controller", Depends(_controller)]

router = APIRouter(
    prefix="/api/v1", dependencies=[Depends(_authorised)], responses=error_responses(400, 401, 404, 409, 413, 422, 503)
)


@router.get("/status", response_model=RuntimeStatus, tags=["runtime"], summary="Nodes, services and replicas")
def status(controller: Ctl) -> dict[str, Any]:
    """Every node (status, pool, cordon, drain, conditions), service (replicas, ready, router) and replica."""
    return controller.status()


@router.post("/nodes/{name}/drain", response_model=DrainStarted, tags=["nodes"], summary="Drain a node")
def drain(name: str, body: ActorBody, controller: Ctl) -> dict[str, Any]:
    """Cordon the node and move its replicas off, honouring disruption budgets; audited as ``heal.drain``."""
    return controller.drain(name, actor=body.actor)


@router.post("/nodes/{name}/up", response_model=NodeRestarted, tags=["nodes"], summary="Bring a node back")
def node_up(name: str, body: ActorBody, controller: Ctl) -> dict[str, Any]:
    """Start a fresh agent for a node lost to node-down; refused (422) while its agent still runs."""
    return controller.node_up(name, actor=body.actor)


@router.post(
    "/chaos/faults",
    response_model=FaultInjected,
    response_model_exclude_none=True,
    tags=["chaos"],
    summary="Inject a fault",
)
def inject(body: FaultBody, controller: Ctl) -> dict[str, Any]:
    """kill or hang a replica, add latency at its router, take a node down, or fill (or clear) a node's disk.

    Audited as ``chaos.inject`` before it is done, with ``actor`` as the actor.
    """
    if body.fault in ("kill", "hang"):
        return controller.chaos_signal(body.target, body.fault, actor=body.actor)
    if body.fault == "node-down":
        return controller.chaos_node_down(body.target, actor=body.actor)
    if body.fault == "latency":
        if body.ms is None:
            raise InputError("a latency fault needs 'ms'", field="ms", fix='send {"fault": "latency", "ms": 200, ...}')
        return controller.chaos_latency(body.target, body.ms, actor=body.actor)
    return controller.chaos_disk_full(body.target, on=not body.clear, actor=body.actor)


@router.put("/spec", response_model=SpecApplied, tags=["spec"], summary="Apply a finpilot.yaml")
def apply(body: SpecBody, controller: Ctl) -> dict[str, Any]:
    """Validate the whole text and make its ``runtime`` section the desired spec; invalid text changes nothing."""
    return controller.apply_config(body.yaml, source=body.source)


@router.post("/spec/rollbacks", response_model=SpecRolledBack, tags=["spec"], summary="Roll back the spec")
def rollback(body: RollbackBody, controller: Ctl) -> dict[str, Any]:
    """Re-apply the spec the last change replaced (audited ``heal.apply`` / ``rollback``)."""
    return controller.rollback(actor=body.actor, service=body.service)


@router.put("/services/{name}/replicas", response_model=ServiceScaled, tags=["spec"], summary="Scale a service")
def scale(name: str, body: ScaleBody, controller: Ctl) -> dict[str, Any]:
    """Apply a copy of the running spec with the new count (see ``Controller.scale``); the autoscaler's call."""
    return controller.scale(name, body.replicas)


@router.get("/services/{name}/arms", response_model=ArmsState, tags=["releases"], summary="Replica groups")
def arms(name: str, controller: Ctl) -> dict[str, Any]:
    """The service's groups (stable and release arms: wanted, running, ready) and its stable env and replicas."""
    return controller.service_arms(name)


@router.put("/services/{name}/arms", response_model=ArmsSet, tags=["releases"], summary="Declare release arms")
def set_arms(name: str, body: ArmsBody, controller: Ctl) -> dict[str, Any]:
    """Arms not named stop; ``stable`` revises the service's own replicas (see ``Controller.set_arms``)."""
    arms = {a: ArmSpec(env=b.env, replicas=b.replicas) for a, b in body.arms.items()}
    stable = None if body.stable is None else ArmSpec(env=body.stable.env, replicas=body.stable.replicas)
    return controller.set_arms(name, arms, stable=stable)


@router.put("/services/{name}/shares", response_model=SharesSet, tags=["releases"], summary="Split traffic")
def set_shares(name: str, body: SharesBody, controller: Ctl) -> dict[str, Any]:
    """Applied to the router at once."""
    return controller.set_shares(name, body.shares)


@router.get("/services/{name}/samples", response_model=GroupSamples, tags=["releases"], summary="Request samples")
def samples(name: str, controller: Ctl, since: float = 0.0) -> dict[str, Any]:
    """Per group, [unix time, latency ms, error] of each request finished since ``since`` (a bounded ring)."""
    return {"groups": controller.arm_samples(name, since)}


async def _finpilot_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, FinpilotError)
    status_code = http_status(exc)
    return JSONResponse(error_body(exc), status_code=status_code, headers=error_headers(status_code))


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    # The offending input is never quoted back: a spec text may hold secrets' names and paths.
    return await _finpilot_error(request, validation_error(exc.errors()))


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    if exc.status_code == 404:
        return await _finpilot_error(request, NotFoundError("no such endpoint", fix="see /openapi.json"))
    body = {"error": "HTTPError", "message": str(exc.detail), "field": None, "fix": None}
    return JSONResponse(body, status_code=exc.status_code, headers=exc.headers)


MAX_BODY_BYTES = 1024 * 1024
"""The largest request body the controller reads (a finpilot.yaml text is far smaller)."""


class _ControllerApp(FastAPI):
    """FastAPI behind the edge: outside its error middleware, so a 500 carries the headers too."""

    max_body_bytes = MAX_BODY_BYTES

    def build_middleware_stack(self) -> ASGIApp:
        """Starlette's stack behind the body limit and the security headers."""
        return edge(super().build_middleware_stack(), max_body_bytes=self.max_body_bytes)


def create_controller_app(controller: Controller, token: str, *, max_body_bytes: int = MAX_BODY_BYTES) -> FastAPI:
    """The controller API over ``controller``, answering only requests that bear ``token``."""
    app = _ControllerApp(
        title="finpilot runtime controller",
        version=__version__,
        description="The local runtime's controller: status, node actions, chaos and spec changes.",
        docs_url=None,
        redoc_url=None,
        openapi_url="/openapi.json",
    )
    app.max_body_bytes = max_body_bytes
    app.state.controller = controller
    app.state.token = token
    app.add_exception_handler(FinpilotError, _finpilot_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.include_router(router)
    return app
