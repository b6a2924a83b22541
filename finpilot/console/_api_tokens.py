"""REST API for API tokens: ``/api/v1/tokens`` (admin only)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response
from starlette.concurrency import run_in_threadpool

from finpilot.audit import Entry
from finpilot.audit.kinds import CONSOLE_TOKEN
from finpilot.console._api_models import CreatedToken, TokenList
from finpilot.console._auth import require
from finpilot.console._http import ERRORS, read_json
from finpilot.console._roles import ROLES, Permission
from finpilot.console._state import console_state
from finpilot.console._tokens import NAME_PATTERN, Principal, TokenInfo
from finpilot.core import InputError

_BODY_LIMIT = 4096

router = APIRouter(prefix="/api/v1/tokens", tags=["tokens"], responses=ERRORS)


def _token_entry(action: str, info: TokenInfo, who: Principal) -> Entry:
    # The same record the CLI writes, so the ledger tells token history the same way
    # whichever door it came through. Name and role only: never the secret.
    return CONSOLE_TOKEN.entry(
        actor=who.actor,
        action=action,
        subject=f"token:{info.id}",
        outcome="ok",
        evidence={"role": info.role, "name": info.name},
    )


Admin = Annotated[Principal, Depends(require(Permission.MANAGE_TOKENS))]


@router.get("", response_model=TokenList, summary="Every token (never its secret)")
def list_tokens(request: Request, _who: Admin) -> dict[str, Any]:
    """All tokens, revoked ones included."""
    return {"tokens": [info.to_json() for info in console_state(request).tokens.list()]}


@router.post(
    "",
    status_code=201,
    response_model=CreatedToken,
    summary="Create a token; the response holds its secret, shown this once",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {
                    "schema": {
                        "type": "object",
                        "required": ["name", "role"],
                        "properties": {
                            "name": {"type": "string", "minLength": 1, "maxLength": 64, "pattern": NAME_PATTERN},
                            "role": {"type": "string", "enum": list(ROLES)},
                        },
                        "additionalProperties": False,
                    }
                }
            },
        }
    },
)
async def create_token(request: Request, who: Admin) -> dict[str, Any]:
    """Create a token from ``{"name": ..., "role": ...}``; its creation is recorded in the ledger."""
    body = await read_json(request, _BODY_LIMIT)
    if not isinstance(body, dict):
        raise InputError("the body must be a JSON object", field="$", fix='send {"name": "ci", "role": "operator"}')
    extra = sorted(set(body) - {"name", "role"})
    if extra:
        raise InputError(f"unknown field '{extra[0]}'", field=extra[0])
    for name in ("name", "role"):
        if name not in body:
            raise InputError(f"field '{name}' is missing", field=name)
    state = console_state(request)
    info, token = await run_in_threadpool(state.tokens.create, body["name"], body["role"])
    try:
        await run_in_threadpool(state.ledger.append, _token_entry("create", info, who))
    except BaseException:
        # A token nobody can account for must not stay usable.
        await run_in_threadpool(state.tokens.revoke, info.id)
        raise
    return {**info.to_json(), "token": token}


@router.delete("/{token_id}", status_code=204, response_class=Response, summary="Revoke a token")
def revoke_token(request: Request, who: Admin, token_id: str) -> Response:
    """Revoke (idempotent) and record it in the ledger. 404 for an unknown id."""
    state = console_state(request)
    # Revoke first: a token someone asked to kill must die even if the ledger then fails.
    info = state.tokens.revoke(token_id)
    state.ledger.append(_token_entry("revoke", info, who))
    return Response(status_code=204)
