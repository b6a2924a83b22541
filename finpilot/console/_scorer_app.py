"""One HTTP scorer process: ``POST /api/v1/fraud/scores`` for the customers its partition owns.

A plain ASGI app, without FastAPI: a scorer serves one route, and at 500 calls a second the
router, dependency solving and middleware of the console would cost about as much CPU as the
scoring. Auth is the console's: a bearer token from the same token store (hashed at rest) whose
role grants ``fraud``, and the ``fraud.decision`` entry names the caller as the console's does.
A payment whose customer another scorer owns is refused with 421 (Misdirected Request) before
anything changes: a mis-routed payment must never fork a customer's state.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import socket
import threading
import time
from collections.abc import Callable
from typing import Any

import orjson
import uvicorn
from starlette.types import Receive, Scope, Send

from finpilot.console._request_audit import SCORE_PATH
from finpilot.console._roles import Permission
from finpilot.console._serve import GracefulServer, tcp_nodelay
from finpilot.console._tokens import Principal, TokenStore
from finpilot.core import (
    FinpilotError,
    InputError,
    PayloadTooLargeError,
    PermissionDeniedError,
    error_body,
    error_headers,
    http_status,
)
from finpilot.fraud import FraudService, Partition, Payment, payment_from_json

_log = logging.getLogger("finpilot.fraud")

_BODY_LIMIT = 8 * 1024
_REQUEST = f"POST {SCORE_PATH}"
MAX_FUTURE_S = 300
"""How far ahead of the scorer's clock a payment's ``time`` may be, as in the console."""
HEALTH_PATH = "/healthz"
"""Answers 200 once the scorer has restored its partition and serves."""


def _json(
    status: int, body: dict[str, Any], headers: dict[str, str] | None = None
) -> tuple[int, bytes, dict[str, str]]:
    return status, orjson.dumps(body), headers or {}


class ScorerApp:
    """The ASGI app of scorer ``partition.index``; ``clock`` gives epoch seconds (for the future-time check)."""

    def __init__(self, partition: Partition, tokens: TokenStore, *, clock: Callable[[], float] = time.time) -> None:
        self.partition = partition
        self.tokens = tokens
        self.clock = clock

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve one request."""
        if scope["type"] != "http":
            return
        headers: dict[str, str]
        if scope["path"] == HEALTH_PATH and scope["method"] == "GET":
            status, body, headers = 200, b'{"status":"ok"}', {}
        elif scope["path"] != SCORE_PATH or scope["method"] != "POST":
            status, body, headers = _json(
                404, {"error": "NotFound", "message": "no such endpoint", "field": None, "fix": None}
            )
        else:
            try:
                status, body, headers = await self._score(scope, receive)
            except FinpilotError as exc:
                code = http_status(exc)
                status, body, headers = code, orjson.dumps(error_body(exc)), error_headers(code) or {}
        raw_headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
        raw_headers += [(k.encode(), v.encode()) for k, v in headers.items()]
        await send({"type": "http.response.start", "status": status, "headers": raw_headers})
        await send({"type": "http.response.body", "body": body})

    async def _principal(self, scope: Scope) -> Principal:
        header = next((v.decode("latin-1") for k, v in scope["headers"] if k == b"authorization"), None)
        token = None
        if header is not None:
            scheme, _, value = header.partition(" ")
            token = value.strip() if scheme.lower() == "bearer" else None
        principal = self.tokens.cached(token)
        if principal is None:
            principal = await asyncio.to_thread(self.tokens.authenticate, token)
        if not principal.can(Permission.FRAUD):
            raise PermissionDeniedError(
                f"role '{principal.role}' does not have the '{Permission.FRAUD}' permission",
                fix="ask an admin for a token with a role that has it",
            )
        return principal

    async def _score(self, scope: Scope, receive: Receive) -> tuple[int, bytes, dict[str, str]]:
        principal = await self._principal(scope)
        payment = payment_from_json(_parse(await _read_body(receive)))
        if payment.time > self.clock() + MAX_FUTURE_S:
            raise InputError(
                f"'time' is more than {MAX_FUTURE_S // 60} minutes in the future",
                field="time",
                fix="send the payment's own time (RFC 3339 with an offset) and check the sender's clock",
            )
        partition = self.partition
        if not partition.owns(payment.customer):
            owner = partition.ring.owner(payment.customer)
            return _json(
                421,
                {
                    "error": "MisdirectedRequest",
                    "message": f"customer_id belongs to scorer {owner}, this is scorer {partition.index}",
                    "field": "customer_id",
                    "fix": "send scoring calls to the fraud router (`fraud scoring:` in `finpilot up`'s output)",
                },
            )
        caller: dict[str, str | None] = {"token_id": principal.token_id, "client": _client(scope), "request": _REQUEST}
        return 200, orjson.dumps(await decide(partition.service, payment, principal.actor, caller)), {}


async def decide(service: FraudService, payment: Payment, actor: str, caller: dict[str, str | None]) -> dict[str, Any]:
    """The one place a scorer calls the service; the answer, once the decision entry is durable.

    ``score_async`` awaits the ledger's group commit on the event loop, holding no thread.
    """
    decision, index, _recorded = await service.score_async(payment, actor=actor, caller=caller)
    return {**decision.to_json(), "audit_index": index}


def _client(scope: Scope) -> str:
    # Scorers listen on loopback behind the router, which sets X-Forwarded-For to the real client
    # (replacing any the client sent); anything else is a local caller.
    forwarded = next((v.decode("latin-1") for k, v in scope["headers"] if k == b"x-forwarded-for"), None)
    if forwarded:
        return str(forwarded.rsplit(",", 1)[-1].strip())
    client = scope.get("client")
    return str(client[0]) if client else "unknown"


async def _read_body(receive: Receive) -> bytes:
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > _BODY_LIMIT:
            raise PayloadTooLargeError(f"the body is over {_BODY_LIMIT} bytes", field="body")
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


def _parse(body: bytes) -> Any:
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError:
        raise InputError("the body is not JSON", field="body", fix="send a JSON object") from None


def serve_scorer(app: ScorerApp, host: str, port: int, *, on_ready: Callable[[], None] | None = None) -> None:
    """Serve ``app`` on ``host:port`` until SIGINT or SIGTERM (uvicorn, no access log)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = tcp_nodelay(socket.create_server((host, port), family=family, backlog=2048))
    config = uvicorn.Config(app, lifespan="off", log_level="warning", access_log=False, server_header=False)
    server = GracefulServer(config)
    # Everything loaded by now (modules, model, restored windows) lives as long as the process:
    # frozen, a full collection never walks it again. Young collections run 5x less often than
    # the default, since each scoring call allocates a few hundred short-lived objects.
    gc.collect()
    gc.freeze()
    gc.set_threshold(3500, 20, 20)
    if on_ready is not None:
        threading.Thread(target=_when_started, args=(server, on_ready), daemon=True).start()
    try:
        server.run(sockets=[sock])
    finally:
        sock.close()


def _when_started(server: uvicorn.Server, on_ready: Callable[[], None]) -> None:
    while not server.started and not server.should_exit:
        time.sleep(0.01)
    if server.started:
        on_ready()
