"""The console application: REST API, pages, metrics, and the request audit around them all."""

from __future__ import annotations

import logging
import time
from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from finpilot import __version__
from finpilot.audit import Ledger
from finpilot.console import (
    _api_alerts,
    _api_analysis,
    _api_audit,
    _api_fraud,
    _api_incidents,
    _api_rollouts,
    _api_runtime,
    _api_tokens,
    _api_watch,
    _ops,
    _pages,
)
from finpilot.console._api_fraud import ScoreFastPath
from finpilot.console._api_pipelines import router as pipelines_api_router
from finpilot.console._headers import ConsoleApp
from finpilot.console._http import install_error_handlers
from finpilot.console._metrics import ConsoleMetrics, MetricsMiddleware
from finpilot.console._page_alerts import PAGE as ALERTS_PAGE
from finpilot.console._page_alerts import router as alerts_page_router
from finpilot.console._page_fraud import PAGE as FRAUD_PAGE
from finpilot.console._page_fraud import attach_fraud_watchers
from finpilot.console._page_fraud import router as fraud_page_router
from finpilot.console._page_incidents import PAGE as INCIDENTS_PAGE
from finpilot.console._page_incidents import router as incidents_page_router
from finpilot.console._page_metrics import PAGE as METRICS_PAGE
from finpilot.console._page_metrics import router as metrics_page_router
from finpilot.console._page_pipelines import PAGE as PIPELINES_PAGE
from finpilot.console._page_pipelines import router as pipelines_page_router
from finpilot.console._page_rollouts import PAGE as ROLLOUTS_PAGE
from finpilot.console._page_rollouts import router as rollouts_page_router
from finpilot.console._page_runtime import PAGE as RUNTIME_PAGE
from finpilot.console._page_runtime import router as runtime_page_router
from finpilot.console._pages import register_page, template_environment
from finpilot.console._refusals import RefusalGuard, RefusalWindows
from finpilot.console._request_audit import RequestAuditMiddleware
from finpilot.console._state import ConsoleState, NavItem
from finpilot.console._tokens import TokenStore
from finpilot.console._watch_scale_view import scale_marks
from finpilot.core import Clock, FinpilotError, MonotonicClock, Settings, utc_now
from finpilot.fraud import FraudService
from finpilot.watch import AlertManager as WatchAlertManager
from finpilot.watch import MetricsQuery

_STATIC = Path(__file__).with_name("static")

ROUTERS = (
    _ops.router,
    _api_audit.router,
    _api_tokens.router,
    _api_fraud.router,
    _api_incidents.router,
    _api_runtime.router,
    _api_analysis.router,
    pipelines_api_router,
    _api_rollouts.router,
    _api_watch.router,
    _api_alerts.router,
    _pages.router,
)
"""Every router the console serves, in the order they are matched."""

DEFAULT_PAGES = (NavItem("Home", "/"), NavItem("Audit", "/audit"))
"""The pages every console has; capabilities add theirs with :func:`register_page`."""


_log = logging.getLogger("finpilot.console")


def _fraud_service(settings: Settings, ledger: Ledger) -> tuple[FraudService | None, str | None]:
    # A missing or broken model must not keep the console from starting: the score route says what is wrong.
    if settings.fraud.model_dir is None:
        return None, None
    try:
        return FraudService.from_settings(settings.fraud, ledger), None
    except FinpilotError as exc:
        _log.warning("fraud model not loaded: %s", exc.message)
        return None, f"no fraud model loaded: {exc.message}"


def create_app(
    settings: Settings,
    ledger: Ledger,
    token_store: TokenStore,
    *,
    clock: Clock = utc_now,
    monotonic: MonotonicClock = time.monotonic,
    fraud: FraudService | None = None,
    metrics_query: MetricsQuery | None = None,
    alerts: WatchAlertManager | None = None,
) -> FastAPI:
    """Build the console app over an open ledger and token store; the caller keeps ownership of both.

    ``fraud`` serves ``/api/v1/fraud/scores`` and ``/labels``; without it the model in
    ``settings.fraud.model_dir`` is loaded, and without that those calls answer 503.
    ``metrics_query`` serves the Metrics page and ``/api/v1/watch/query`` (503 without one).
    ``alerts`` (the watch alert manager, built with ``record=ledger.append`` so that silences set
    here are audited) serves the Alerts page and ``/api/v1/watch/alerts``, ``/silences`` and
    ``/notifications`` (503 without one); the caller keeps ownership of it.
    ``monotonic`` times the refusal limits and windows. Refusal windows still open when the
    app is done are written by ``app.state.console.refusals.flush(everything=True)``
    (:func:`finpilot.console.serve` does it at shutdown).
    """
    app = ConsoleApp(
        title="finpilot console",
        version=__version__,
        description="Operations console and REST API; every mutating request is recorded in the audit ledger.",
        # The interactive docs pages load their assets from a CDN; the console loads nothing from elsewhere.
        docs_url=None,
        redoc_url=None,
        openapi_url="/openapi.json",
    )
    app.max_body_bytes = settings.console.max_body_bytes
    metrics = ConsoleMetrics(ledger, clock)
    limits = settings.console.auth_failures
    refusals = RefusalWindows(ledger, limits.window_s, clock=clock, monotonic=monotonic)
    problem = None
    if fraud is None:
        fraud, problem = _fraud_service(settings, ledger)
    app.state.console = ConsoleState(
        settings=settings,
        ledger=ledger,
        tokens=token_store,
        clock=clock,
        templates=template_environment(),
        metrics=metrics,
        fraud=fraud,
        refusals=refusals,
        watch_metrics=metrics_query,
        alerts=alerts,
    )
    if problem is not None:
        app.state.console.fraud_problem = problem
    # Scaling actions are marked on the Metrics page's charts, straight from the ledger.
    app.state.console.watch_marks = scale_marks(ledger)
    attach_fraud_watchers(app.state.console)
    install_error_handlers(app)
    for router in ROUTERS:
        app.include_router(router)
    app.mount("/static", StaticFiles(directory=_STATIC), name="static")
    for item in DEFAULT_PAGES:
        register_page(app, item)
    register_page(app, FRAUD_PAGE, fraud_page_router)
    register_page(app, RUNTIME_PAGE, runtime_page_router)
    register_page(app, INCIDENTS_PAGE, incidents_page_router)
    register_page(app, PIPELINES_PAGE, pipelines_page_router)
    register_page(app, ROLLOUTS_PAGE, rollouts_page_router)
    register_page(app, METRICS_PAGE, metrics_page_router)
    register_page(app, ALERTS_PAGE, alerts_page_router)
    # Last added runs first: metrics time everything, including the audit append; a client over
    # its refusal limit is answered before the audit, the routes and the token check see it.
    # The security headers and the body limit sit outside all of these (ConsoleApp).
    app.add_middleware(ScoreFastPath)
    app.add_middleware(RequestAuditMiddleware, ledger=ledger)
    app.add_middleware(RefusalGuard, limits=limits, windows=refusals, metrics=metrics, monotonic=monotonic)
    app.add_middleware(MetricsMiddleware, metrics=metrics)
    return app
