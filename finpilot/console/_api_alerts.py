"""REST API of the Alerts page: active alerts, silences and deliveries (READ); silences set and expired (SILENCE).

::

    GET  /api/v1/watch/alerts                   pending, firing and recently resolved alerts
    GET  /api/v1/watch/silences                 every silence (active, pending, expired)
    POST /api/v1/watch/silences                 set one: matchers, duration_s or ends_at, comment
    POST /api/v1/watch/silences/{id}/expire     end one now
    GET  /api/v1/watch/notifications?limit=     the newest delivery outcomes, newest first

A silence is created by the caller's actor (``token:<name>``) and, besides the request's own
``console.request`` entry, the manager writes a ``watch.alert`` entry (action ``silence`` or
``expire``), as the CLI does. Without an alert manager every call answers 503 saying how to
enable alerts.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from finpilot.console._auth import require
from finpilot.console._http import ERRORS
from finpilot.console._roles import Permission
from finpilot.console._state import ConsoleState, console_state
from finpilot.console._tokens import Principal
from finpilot.core import UnavailableError
from finpilot.watch import AlertConfigError, AlertManager, AlertMatcher, Silence, parse_matcher

router = APIRouter(prefix="/api/v1/watch", tags=["watch"], responses=ERRORS)

Reader = Annotated[Principal, Depends(require(Permission.READ))]
Silencer = Annotated[Principal, Depends(require(Permission.SILENCE))]

NO_ALERTS_FIX = (
    "run `finpilot up` (it runs the alert manager with the console), or pass alerts=AlertManager.from_settings("
    "settings, record=ledger.append) to finpilot.console.create_app / serve"
)
"""What to do when the console has no alert manager."""


LAST_END = 253_402_300_799.0
"""The latest end a silence may have (9999-12-31T23:59:59Z): its audit entry writes it as a date."""


class WindowOut(BaseModel):
    """The span of the series the alert is about (Unix seconds): what its link shows."""

    model_config = ConfigDict(extra="forbid")

    start: float
    end: float


class AlertOut(BaseModel):
    """One alert with what mutes it (the shape of ``finpilot watch alerts --json``)."""

    model_config = ConfigDict(extra="forbid")

    fingerprint: str = Field(description="16 hex digits of SHA-256 over the sorted labels: the alert's identity.")
    rule: str
    kind: Literal["metric", "anomaly", "proactive"]
    state: Literal["pending", "firing", "resolved"]
    severity: str = Field(description="critical, warning or info.")
    labels: dict[str, str]
    annotations: dict[str, str]
    series: str = Field(description="The series, as a PromQL selector.")
    window: WindowOut
    value: float | None
    threshold: float | None
    score: float | None = Field(description="Anomaly alerts: the detector's score.")
    active_since: float
    fired_at: float | None
    resolved_at: float | None
    breach_expected_at: float | None = Field(description="Proactive alerts: when the forecast crosses the limit.")
    link: str = Field(description="The Metrics page of the series over the window (watch.alerts.console_base_url).")
    silenced_by: list[str] = Field(description="Ids of the active silences that mute it.")
    inhibited: bool = Field(description="Whether a firing alert inhibits it (watch.alerts.inhibit).")


class AlertList(BaseModel):
    """Active alerts: firing first, then pending, then resolved ones still kept; newest first within each."""

    model_config = ConfigDict(extra="forbid")

    alerts: list[AlertOut]


class SilenceOut(BaseModel):
    """One silence."""

    model_config = ConfigDict(extra="forbid")

    id: str
    matchers: list[str] = Field(description="Alertmanager matchers: name=value, name!=value, name=~re, name!~re.")
    starts_at: float
    ends_at: float
    created_by: str = Field(description="The actor that set it, e.g. token:alice or cli:bob.")
    comment: str
    state: Literal["pending", "active", "expired"]


class SilenceList(BaseModel):
    """Every silence, the latest end first."""

    model_config = ConfigDict(extra="forbid")

    silences: list[SilenceOut]


class SilenceAnswer(BaseModel):
    """The silence as it is now."""

    model_config = ConfigDict(extra="forbid")

    silence: SilenceOut


class SilenceBody(BaseModel):
    """A silence to set: its matchers, how long (``duration_s``) or until when (``ends_at``), and why."""

    model_config = ConfigDict(extra="forbid")

    matchers: list[Annotated[str, Field(min_length=1, max_length=500)]] = Field(
        min_length=1, max_length=32, description='Label matchers, e.g. ["service=payments", "severity=~warn.*"].'
    )
    duration_s: float | None = Field(
        default=None, gt=0, le=366 * 86_400, allow_inf_nan=False, description="How long, seconds (at most a year)."
    )
    ends_at: float | None = Field(
        default=None, gt=0, le=LAST_END, allow_inf_nan=False, description="Or until when, Unix seconds."
    )
    comment: str = Field(min_length=1, max_length=500, description="Why (required).")


class ExpireBody(BaseModel):
    """Nothing to say but JSON (``{}``), so no cross-site form can post it."""

    model_config = ConfigDict(extra="forbid")


class NotificationOut(BaseModel):
    """One delivery outcome from the notification log."""

    model_config = ConfigDict(extra="forbid")

    id: int
    at: float
    sink: str
    group_key: str
    status: str = Field(description="firing or resolved: what the notification said of its group.")
    fingerprints: list[str] = Field(description="The alerts it carried.")
    outcome: str = Field(description="delivered or retrying (kept in the outbox and tried again later).")
    attempts: int
    error: str | None = Field(description="What went wrong, without the sink's URL.")


class NotificationList(BaseModel):
    """The newest delivery outcomes, newest first."""

    model_config = ConfigDict(extra="forbid")

    notifications: list[NotificationOut]


def alert_manager(state: ConsoleState) -> AlertManager:
    """The console's alert manager; :class:`UnavailableError` (503) when none is configured."""
    if state.alerts is None:
        raise UnavailableError("no alert manager is configured", field="watch.alerts", fix=NO_ALERTS_FIX)
    return state.alerts


_MATCHER_FIX = 'write name=value, name!=value, name=~regex or name!~regex, e.g. "service=payments"'


def body_matchers(texts: list[str]) -> tuple[AlertMatcher, ...]:
    """Each text as a matcher; a bad one is an :class:`AlertConfigError` (422) naming ``matchers.N``."""
    parsed: list[AlertMatcher] = []
    for index, text in enumerate(texts):
        try:
            parsed.append(parse_matcher(text, field=f"matchers.{index}"))
        except AlertConfigError as exc:
            # The manager's own wording speaks of the CLI's --match; an API caller sends a list.
            fix = _MATCHER_FIX if exc.fix and "--match" in exc.fix else exc.fix
            raise AlertConfigError(exc.message, field=f"matchers.{index}", fix=fix) from None
    return tuple(parsed)


def check_span(body: SilenceBody, now: float) -> None:
    """Exactly one of ``duration_s`` and ``ends_at``, and an end after now (else 422 naming the field)."""
    if (body.duration_s is None) == (body.ends_at is None):
        raise AlertConfigError(
            "a silence needs exactly one of duration_s and ends_at",
            field="duration_s",
            fix='give "duration_s": 7200 (two hours) or "ends_at": UNIX_SECONDS, not both',
        )
    if body.ends_at is not None and body.ends_at <= now:
        raise AlertConfigError(
            "a silence must end after now", field="ends_at", fix=f"give a time after {now:.0f} (Unix seconds)"
        )


def silence_json(silence: Silence, manager: AlertManager) -> dict[str, object]:
    """The silence's one JSON shape, its state as of the manager's clock."""
    return silence.to_json(manager.now())


@router.get("/alerts", response_model=AlertList, summary="Active alerts")
async def list_alerts(request: Request, _who: Reader) -> dict[str, Any]:
    """Pending, firing and recently resolved alerts, with the silences and inhibitions that mute them."""
    manager = alert_manager(console_state(request))
    views = await run_in_threadpool(manager.active_alerts)
    return {"alerts": [view.to_json() for view in views]}


@router.get("/silences", response_model=SilenceList, summary="Silences")
async def list_silences(request: Request, _who: Reader) -> dict[str, Any]:
    """Every silence, expired ones included (their state says which)."""
    manager = alert_manager(console_state(request))
    found = await run_in_threadpool(manager.silences)
    return {"silences": [silence_json(s, manager) for s in found]}


@router.post("/silences", response_model=SilenceAnswer, status_code=201, summary="Set a silence")
async def add_silence(request: Request, body: SilenceBody, who: Silencer) -> dict[str, Any]:
    """Mute the alerts matching every matcher from now for ``duration_s`` or until ``ends_at``; audited."""
    manager = alert_manager(console_state(request))

    matchers = body_matchers(body.matchers)
    check_span(body, manager.now())

    def add() -> Silence:
        return manager.add_silence(
            matchers,
            created_by=who.actor,
            comment=body.comment,
            duration_s=body.duration_s,
            ends_at=body.ends_at,
        )

    silence = await run_in_threadpool(add)
    return {"silence": silence_json(silence, manager)}


@router.post("/silences/{silence_id}/expire", response_model=SilenceAnswer, summary="Expire a silence")
async def expire_silence(request: Request, silence_id: str, _body: ExpireBody, who: Silencer) -> dict[str, Any]:
    """End a silence now (an expired one is answered as it is); unknown ids are 404."""
    manager = alert_manager(console_state(request))
    silence = await run_in_threadpool(lambda: manager.expire_silence(silence_id, by=who.actor))
    return {"silence": silence_json(silence, manager)}


@router.get("/notifications", response_model=NotificationList, summary="Recent deliveries")
async def list_notifications(
    request: Request, _who: Reader, limit: Annotated[int, Query(ge=1, le=1000)] = 50
) -> dict[str, Any]:
    """The newest ``limit`` delivery outcomes (sink, group, alerts carried, outcome, attempts, error)."""
    manager = alert_manager(console_state(request))
    return {"notifications": await run_in_threadpool(manager.notifications, limit)}
