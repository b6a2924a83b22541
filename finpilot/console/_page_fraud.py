"""The Fraud page: live decisions, decline rate, reasons, drift, models, frozen accounts, alerts.

``GET /fraud`` is the page (READ); console.js refreshes it every few seconds from
``GET /api/v1/fraud/summary`` and freezes accounts through ``/api/v1/fraud/accounts/...``
(both in :mod:`finpilot.console._api_fraud`), the same data as :func:`fraud_summary`.
:func:`attach_fraud_watchers` puts a :class:`FraudStats` and an :class:`AlertManager` on the
console's fraud service; the drift monitor, when there is one, is ``ConsoleState.fraud_drift``.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from finpilot.console._drift_view import build_drift_view
from finpilot.console._pages import login_redirect, page_principal, render
from finpilot.console._roles import Permission
from finpilot.console._state import ConsoleState, NavItem, console_state
from finpilot.core import FinpilotError
from finpilot.fraud import AlertManager, AlertSink, DriftMonitor, FraudService, FraudStats, WebhookSink, load_reference

_log = logging.getLogger("finpilot.console")

PAGE = NavItem("Fraud", "/fraud")
"""The Fraud page's navigation entry."""

_CHART_W, _CHART_H = 600, 120

router = APIRouter(tags=["fraud"])


def attach_fraud_watchers(state: ConsoleState) -> None:
    """Give the console's fraud service live stats and alerts (a webhook too when ``fraud.alerts`` names one).

    A webhook whose secret variable is missing is a :class:`ConfigError` at start-up, not a
    silent loss of alerts later.
    """
    service = state.fraud
    if service is None:
        return
    settings = state.settings.fraud.alerts
    sinks: list[AlertSink] = []
    if settings.webhook_url is not None:
        sinks.append(WebhookSink.from_settings(settings))
    state.fraud_stats = FraudStats(clock=state.clock)
    # The last hour's decisions, whichever process made them, so that a restarted console's page
    # is not empty; alerts and drift start from now (the earlier alerts are in the ledger).
    state.fraud_stats.count_recent(state.ledger)
    alerts = AlertManager(state.ledger, sinks, dedup_window_s=settings.dedup_window_s, clock=state.clock)
    state.fraud_alerts = alerts
    service.add_observer(state.fraud_stats)
    service.add_observer(alerts)
    if state.fraud_drift is None:
        state.fraud_drift = _drift_monitor(state, service, alerts)


def _drift_monitor(state: ConsoleState, service: FraudService, alerts: AlertManager) -> DriftMonitor | None:
    # The model's reference.json (written by `fraud train` and `fraud retrain`) is what live
    # traffic is compared with; a model without one is shown as "not monitored".
    model_dir = state.settings.fraud.model_dir
    if model_dir is None:
        return None
    try:
        reference = load_reference(model_dir, service.scorer.artifact)
    except FinpilotError as exc:
        _log.info("drift not monitored: %s", exc.message)
        return None

    def on_alert(kind: str, evidence: dict[str, Any]) -> None:
        alerts.raise_alert(kind, evidence, severity="critical", reasons=("model inputs or errors drifted",))

    monitor = DriftMonitor(reference, state.ledger, model_version=service.model_version, on_alert=on_alert)
    service.add_observer(monitor)
    return monitor


def _jsonable(value: Any) -> Any:
    # A monitor's summary may hold NaN or numpy scalars; JSON has neither.
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_jsonable(v) for v in value]
    if isinstance(value, bool | int | str) or value is None:
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    for cast in (int, float):
        try:
            converted = cast(value)
        except (TypeError, ValueError):
            continue
        if converted == value:
            return _jsonable(converted)
    return str(value)


def fraud_summary(state: ConsoleState) -> dict[str, Any]:
    """What the Fraud page shows, JSON-able: model, live stats, drift and alerts (None where not watched)."""
    service = state.fraud
    drift: Any = None
    if state.fraud_drift is not None:
        try:
            drift = _jsonable(state.fraud_drift.summary())
        except Exception:  # a monitor's bug must not take the page down
            _log.exception("drift monitor summary failed")
            drift = {"error": "the drift monitor could not report; see the console log"}
    return {
        "model_loaded": service is not None,
        "model_version": service.model_version if service is not None else None,
        "policy_id": service.policy.policy_id if service is not None else None,
        "problem": None if service is not None else state.fraud_problem,
        "stats": state.fraud_stats.summary() if state.fraud_stats is not None else None,
        "drift": drift,
        "alerts": state.fraud_alerts.summary() if state.fraud_alerts is not None else None,
    }


def chart_bars(per_minute: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Stacked bars (approve, review, declined) for an inline SVG; console.js draws the same on refresh."""
    peak = max((row["total"] for row in per_minute), default=0) or 1
    width = _CHART_W / max(len(per_minute), 1)
    bars = []
    for i, row in enumerate(per_minute):
        base = float(_CHART_H)
        for part, count in (
            ("approve", row["approve"]),
            ("review", row["review"]),
            ("decline", row["decline"] + row["freeze_account"]),
        ):
            if not count:
                continue
            height = count / peak * _CHART_H
            base -= height
            bars.append(
                {
                    "x": round(i * width, 2),
                    "y": round(base, 2),
                    "w": round(max(width - 1, 1), 2),
                    "h": round(height, 2),
                    "part": part,
                    "title": f"{row['minute'][11:16]} UTC: {count} {part}",
                }
            )
    return bars


@router.get("/fraud", name="fraud_page", include_in_schema=False)
def fraud_page(request: Request) -> Response:
    """Live decisions, decline rate, top reasons, drift, model versions, frozen accounts and recent alerts."""
    principal = page_principal(request)
    if principal is None:
        return login_redirect(request)
    state = console_state(request)
    summary = fraud_summary(state)
    stats = summary["stats"]
    context = {
        "summary": summary,
        "drift": build_drift_view(summary["drift"], state.fraud_drift),
        "stats": stats,
        "bars": chart_bars(stats["per_minute"]) if stats else [],
        "chart_w": _CHART_W,
        "chart_h": _CHART_H,
        "can_freeze": principal.can(Permission.FREEZE) and summary["model_loaded"],
    }
    return render(request, "fraud.html", context, principal=principal)
