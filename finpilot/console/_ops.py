"""Operational endpoints: ``/healthz`` and ``/metrics``. Unauthenticated: they reveal sizes, never data."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST

from finpilot import __version__
from finpilot.console._api_models import Health
from finpilot.console._state import console_state
from finpilot.core import error_responses

router = APIRouter(tags=["operations"])


@router.get("/healthz", response_model=Health, responses=error_responses(503), summary="Liveness and ledger size")
def healthz(request: Request) -> dict[str, Any]:
    """``{"status": "ok", "ledger_size": n, "version": v}``; 503 when storage is unreachable."""
    return {"status": "ok", "ledger_size": console_state(request).ledger.size, "version": __version__}


@router.get(
    "/metrics",
    summary="Prometheus metrics",
    response_class=Response,
    responses={200: {"content": {"text/plain": {"schema": {"type": "string"}}}}},
)
def metrics(request: Request) -> Response:
    """Prometheus text exposition of this app's registry."""
    return Response(console_state(request).metrics.exposition(), media_type=CONTENT_TYPE_LATEST)
