"""The FastAPI application: the API, health and readiness probes, and metrics.

Every ``/v1/`` route needs a bearer token (:mod:`finpilot_payments._api`). ``/healthz``,
``/readyz`` and ``/metrics`` stay open for probes and scrapers: they show the version, whether
the database answers, and request counts by route template, status and error type, never an
id, an amount, a card or a token.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response

from finpilot_payments._api import router
from finpilot_payments._auth import TokenStore
from finpilot_payments._db import Database
from finpilot_payments._decision import DecisionClient
from finpilot_payments._edge import PaymentsApp
from finpilot_payments._errors import StorageError
from finpilot_payments._errors_http import install_error_handlers
from finpilot_payments._http_decider import HttpDecider
from finpilot_payments._metrics import MetricsMiddleware, PaymentsMetrics
from finpilot_payments._open import make_decider, open_database
from finpilot_payments._service import PaymentsService, utc_now
from finpilot_payments._settings import PaymentsSettings


def create_app(
    settings: PaymentsSettings | None = None,
    *,
    database: Database | None = None,
    decider: DecisionClient | None = None,
    clock: Callable[[], datetime] = utc_now,
) -> FastAPI:
    """The payments app. A ``database`` passed in stays the caller's to close; one opened here
    from ``settings`` is closed when the app shuts down."""
    settings = settings or PaymentsSettings.from_env()
    owned = database is None
    db = open_database(settings) if database is None else database
    chosen = decider or make_decider(settings)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        yield
        if owned:
            db.close()
        if decider is None and isinstance(chosen, HttpDecider):
            chosen.close()

    app = PaymentsApp(title="finpilot reference payments service", version=settings.version, lifespan=lifespan)
    app.state.settings = settings
    app.state.service = PaymentsService(db, chosen, clock=clock)
    app.state.tokens = TokenStore(db, bootstrap=settings.bootstrap_token)
    app.state.metrics = metrics = PaymentsMetrics()
    install_error_handlers(app)
    app.include_router(router)
    app.max_body_bytes = settings.max_body_bytes
    app.faults = settings.faults
    app.add_middleware(MetricsMiddleware, metrics=metrics, version=settings.version)

    @app.get("/healthz")
    def healthz() -> dict[str, Any]:
        """Liveness: the process answers; reports the version."""
        return {"status": "ok", "version": settings.version}

    @app.get("/readyz", responses={503: {"description": "the database does not answer"}})
    def readyz(request: Request) -> JSONResponse:
        """Readiness: the database answers (where it lives is not said: this probe needs no token)."""
        service: PaymentsService = request.app.state.service
        try:
            service.db.ping()
        except StorageError as exc:
            return JSONResponse({"status": "unavailable", "reason": exc.message}, status_code=503)
        return JSONResponse({"status": "ready"})

    @app.get("/metrics", response_class=PlainTextResponse)
    def prometheus() -> Response:
        """Prometheus text exposition of this app's registry."""
        return Response(metrics.exposition(), media_type="text/plain; version=0.0.4; charset=utf-8")

    return app
