"""The canary judge for teams who keep their rollout tool: a Flagger webhook and an Argo Rollouts web metric.

* ``POST /api/v1/analysis/flagger/{hook}`` with ``hook`` ``confirm-promotion`` or ``rollback``:
  Flagger posts ``{name, namespace, phase, metadata}``. Flagger cannot send headers, so the
  console token travels in ``metadata.token`` (an ``Authorization: Bearer`` header is accepted
  too, for a proxy that adds one). A ``confirm-promotion`` hook answers 200 when the canary
  passes (Flagger promotes) and 409 otherwise (Flagger waits and asks again); a ``rollback``
  hook answers 200 when the canary fails (Flagger rolls back) and 409 otherwise (it goes on).
* ``GET /api/v1/analysis/argo?rollout=...``: Argo's ``web`` provider sends the token as an
  ``Authorization`` header and reads ``$.verdict`` (``successCondition: result == "pass"``,
  ``failureCondition: result == "fail"``); an inconclusive verdict is neither, so Argo records an
  inconclusive measurement.

Both need the READ permission (a viewer token is enough: the caller learns a verdict and the
console records it) and write one ``deliver.analysis`` audit entry per analysis, whatever the
answer; the token is never part of it. Samples come from a :class:`~finpilot.deliver.SampleSource`:
``app.state.analysis_source`` if set; else, with ``watch.prometheus_url`` set, the router's
per-arm metrics in that Prometheus (:class:`~finpilot.deliver.MetricsSampleSource`); else the CSV
directory ``<data dir>/deliver/samples``. The judge config is ``<data dir>/deliver/judge.yaml`` if
it exists, else the defaults.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query, Request
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.concurrency import run_in_threadpool

from finpilot.console._auth import authorised, remember_principal, require
from finpilot.console._http import ERRORS, read_json
from finpilot.console._roles import Permission
from finpilot.console._state import console_state
from finpilot.console._tokens import Principal
from finpilot.core import (
    AuthError,
    CheckFailedError,
    FinpilotError,
    InputError,
    PermissionDeniedError,
    error_responses,
    validation_error,
)
from finpilot.deliver import (
    CsvDirectorySource,
    JudgeConfig,
    Judgement,
    MetricResult,
    MetricsSampleSource,
    SampleSet,
    SampleSource,
    analysis_entry,
    check_release,
    judge,
    next_step,
)
from finpilot.watch import prometheus_query_from_settings

router = APIRouter(prefix="/api/v1/analysis", tags=["analysis"], responses={**ERRORS, **error_responses(409)})

Reader = Annotated[Principal, Depends(require(Permission.READ))]


def _json_body(schema: dict[str, Any]) -> dict[str, Any]:
    # The body is read by hand, after the token in it is checked; document it anyway.
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": schema}}}}


class FlaggerPayload(BaseModel):
    """What Flagger posts to a webhook; fields it may add later are ignored."""

    model_config = ConfigDict(extra="ignore")

    name: str = Field(description="The Canary's name.")
    namespace: str = Field(description="The Canary's namespace.")
    phase: str | None = Field(None, description="The canary's phase (Progressing, Promoting...).")
    metadata: dict[str, str] = Field(
        default_factory=dict,
        description="From the webhook spec: token (the console token), release, window_s (seconds judged).",
    )


class AnalysisResult(BaseModel):
    """One analysis: the judge's verdict, every metric, the step the config says comes next, the audit index."""

    verdict: Literal["pass", "fail", "inconclusive"]
    enough_data: bool
    score: float
    reason: str
    step: str = Field(description="continue, rollback, pause or extend (per the judge config).")
    rollout: str
    release: str | None
    baseline_requests: int
    canary_requests: int
    metrics: list[MetricResult]
    audit_index: int = Field(description="The deliver.analysis entry that records this analysis.")


def _samples(request: Request, rollout: str, window_s: float | None) -> SampleSet:
    custom: SampleSource | None = getattr(request.app.state, "analysis_source", None)
    if custom is not None:
        return custom.samples(rollout, window_s=window_s)
    settings = console_state(request).settings
    query = prometheus_query_from_settings(settings.watch)
    if query is not None:
        # One connection pool per analysis: analyses are minutes apart, and nothing is left open.
        with query:
            return MetricsSampleSource(query).samples(rollout, window_s=window_s)
    return CsvDirectorySource(settings.data_dir / "deliver" / "samples").samples(rollout, window_s=window_s)


def _config(request: Request) -> JudgeConfig:
    path = console_state(request).settings.data_dir / "deliver" / "judge.yaml"
    return JudgeConfig.load(path) if path.is_file() else JudgeConfig()


def _window(raw: str | None) -> float | None:
    if raw is None:
        return None
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not 0 < value < float("inf"):
        raise InputError("metadata.window_s must be a positive number of seconds", field="metadata.window_s")
    return value


def _analyse(
    request: Request, who: Principal, *, source: str, rollout: str, release: str | None, window_s: float | None
) -> tuple[Judgement, dict[str, Any]]:
    check_release(release)
    config = _config(request)
    found = _samples(request, rollout, window_s)
    judgement = judge(found.baseline, found.canary, config)
    entry = analysis_entry(judgement, found, config, actor=who.actor, source=source, rollout=rollout, release=release)
    index = console_state(request).ledger.append(entry)
    data = judgement.model_dump(mode="json")
    data.update(step=next_step(judgement, config, 0), rollout=rollout, release=release, audit_index=index)
    return judgement, data


_BODY_LIMIT = 64 * 1024
_HOOKS = ("confirm-promotion", "rollback")


async def _flagger_call(request: Request) -> tuple[Principal, FlaggerPayload]:
    """Who calls and with what, authenticated before the body is judged: a stranger gets 401, never a 422."""
    if "authorization" in request.headers:
        caller = await authorised(request, Permission.READ)
        return caller, _payload(await read_json(request, _BODY_LIMIT))
    try:
        raw: Any = await read_json(request, _BODY_LIMIT)
    except FinpilotError:
        raw = None
    meta = raw.get("metadata") if isinstance(raw, dict) else None
    token = meta.get("token") if isinstance(meta, dict) else None
    if not isinstance(token, str) or not token:
        raise AuthError(
            "no console token: Flagger sends it as metadata.token",
            field="metadata.token",
            fix="add 'token: <a viewer token>' to the webhook's metadata (see docs/deliver-judge.md)",
        )
    tokens = console_state(request).tokens
    principal = tokens.cached(token)
    if principal is None:
        principal = await run_in_threadpool(tokens.authenticate, token)
    remember_principal(request, principal)
    if not principal.can(Permission.READ):
        raise PermissionDeniedError(
            f"role '{principal.role}' does not have the 'read' permission",
            fix="ask an admin for a token with a role that has it",
        )
    return principal, _payload(raw)


def _payload(raw: Any) -> FlaggerPayload:
    try:
        return FlaggerPayload.model_validate(raw)
    except ValidationError as exc:
        raise validation_error(exc.errors()) from None


@router.post(
    "/flagger/{hook}",
    response_model=AnalysisResult,
    summary="Flagger webhook: confirm-promotion answers 200 on pass; rollback answers 200 on fail",
    openapi_extra=_json_body(FlaggerPayload.model_json_schema()),
)
async def flagger(
    request: Request,
    hook: Annotated[str, Path(description="The webhook's type in the Canary: confirm-promotion or rollback.")],
) -> dict[str, Any]:
    """Judge the Canary ``namespace/name``; any other answer than 200 is a 409 with the verdict in its message.

    The token is ``metadata.token`` (Flagger sends no headers) or an ``Authorization: Bearer`` header.
    """
    who, payload = await _flagger_call(request)
    if hook not in _HOOKS:
        raise InputError(f"no webhook type {hook!r}", field="hook", fix="use confirm-promotion or rollback")
    meta = payload.metadata
    judgement, data = await run_in_threadpool(
        _analyse,
        request,
        who,
        source=f"flagger:{hook}",
        rollout=f"{payload.namespace}/{payload.name}",
        release=meta.get("release"),
        window_s=_window(meta.get("window_s")),
    )
    wanted = "pass" if hook == "confirm-promotion" else "fail"
    if judgement.verdict != wanted:
        raise CheckFailedError(
            f"canary verdict {judgement.verdict} (audit entry {data['audit_index']}): {judgement.reason}",
            fix="promotion waits for a pass" if hook == "confirm-promotion" else "no rollback: the canary did not fail",
        )
    return data


@router.get(
    "/argo",
    response_model=AnalysisResult,
    summary="Argo Rollouts web metric: read $.verdict (pass, fail or inconclusive)",
)
async def argo(
    request: Request,
    who: Reader,
    rollout: Annotated[str, Query(description="The rollout's samples: name or namespace/name.")],
    release: Annotated[str | None, Query(description="The release id, for the audit subject.")] = None,
    window_s: Annotated[float | None, Query(gt=0, description="Judge only the last seconds.")] = None,
) -> dict[str, Any]:
    """Judge the rollout's canary against its baseline; always 200 with the verdict, whatever it is."""
    _judgement, data = await run_in_threadpool(
        _analyse, request, who, source="argo", rollout=rollout, release=release, window_s=window_s
    )
    return data
