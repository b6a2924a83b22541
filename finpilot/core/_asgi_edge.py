"""The edge every finpilot HTTP server puts outside everything else: a body limit and security headers.

Plain ASGI, no web framework: each server wraps its whole application (its own error
middleware included) in :func:`edge`, so that

* a body larger than the limit is refused with 413 before routing, authentication or parsing
  see it: at once when Content-Length says so, else as soon as the streamed bytes pass it (the
  rest is never read), and
* every response, a 500 from the framework's last-resort handler and the 413 above included,
  carries the security headers.

:func:`proxy_options` is the one rule for uvicorn's ``X-Forwarded-For`` handling: off unless
trusted proxies are named, so that a client cannot choose the address the audit ledger records.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Iterable, Mapping, MutableMapping
from typing import Any

from finpilot.core._errors import PayloadTooLargeError
from finpilot.core._http_errors import error_body

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

API_SECURITY_HEADERS: Mapping[str, str] = {
    # A JSON API serves no page: nothing may be loaded, framed or sniffed from its answers.
    "Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
}
"""The security headers of a JSON API (the console has its own, with a policy for its pages)."""


class SecurityHeaders:
    """Adds ``headers`` to every response that does not set them; ``Cache-Control: no-store`` too,
    except under ``cacheable_prefix`` (static files)."""

    def __init__(self, app: ASGIApp, headers: Mapping[str, str], *, cacheable_prefix: str | None = None) -> None:
        self.app = app
        self._headers = [(name.lower().encode(), value.encode()) for name, value in headers.items()]
        self._no_store = (b"cache-control", b"no-store")
        self._cacheable_prefix = cacheable_prefix

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve one request with the headers added."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        extra = list(self._headers)
        if self._cacheable_prefix is None or not str(scope.get("path", "")).startswith(self._cacheable_prefix):
            extra.append(self._no_store)

        async def add_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                present: list[tuple[bytes, bytes]] = list(message.get("headers", ()))
                names = {bytes(name).lower() for name, _ in present}
                message["headers"] = present + [(name, value) for name, value in extra if name not in names]
            await send(message)

        await self.app(scope, receive, add_headers)


class _TooLarge(Exception):
    """Raised into the application when the streamed body passes the limit (the 413 is already sent)."""


def _declared_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            return int(value) if value.isdigit() else None
    return None


class BodyLimit:
    """Refuses a request body over ``max_bytes`` (or over ``per_path[path]``) with 413."""

    def __init__(self, app: ASGIApp, max_bytes: int, *, per_path: Mapping[str, int] | None = None) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.per_path = dict(per_path or {})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve one request whose body stays within the limit; answer 413 for one that does not."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.per_path.get(str(scope.get("path", "")), self.max_bytes)
        declared = _declared_length(scope)
        if declared is not None and declared > limit:
            await too_large(send, limit)
            return
        seen = 0
        refused = False
        started = False

        async def counted() -> Message:
            nonlocal seen, refused
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    if not started:
                        refused = True
                        await too_large(send, limit)
                    raise _TooLarge
            return message

        async def guarded(message: Message) -> None:
            nonlocal started
            if refused:
                return  # the 413 is out; whatever the application makes of the cut-off body is not
            started = True
            await send(message)

        try:
            await self.app(scope, counted, guarded)
        except _TooLarge:
            return  # raised by counted() and not caught on the way: nothing more to say
        except Exception:
            if not refused:
                raise


async def too_large(send: Send, limit: int) -> None:
    """Send the one 413 error body; the connection is closed after it, since the body is left unread."""
    error = PayloadTooLargeError(f"the request body is larger than {limit} bytes", field="$", fix="send a smaller body")
    await send_json(send, 413, error_body(error), [(b"connection", b"close")])


async def send_json(send: Send, status: int, body: Any, headers: Iterable[tuple[bytes, bytes]] = ()) -> None:
    """Send a whole JSON response from plain ASGI (an error body, usually)."""
    data = json.dumps(body).encode()
    head = [(b"content-type", b"application/json"), (b"content-length", str(len(data)).encode()), *headers]
    await send({"type": "http.response.start", "status": status, "headers": head})
    await send({"type": "http.response.body", "body": data})


def edge(
    app: ASGIApp,
    *,
    max_body_bytes: int,
    body_limits: Mapping[str, int] | None = None,
    headers: Mapping[str, str] = API_SECURITY_HEADERS,
    cacheable_prefix: str | None = None,
) -> ASGIApp:
    """``app`` behind :class:`SecurityHeaders` (outermost) and :class:`BodyLimit`."""
    limited = BodyLimit(app, max_body_bytes, per_path=body_limits)
    return SecurityHeaders(limited, headers, cacheable_prefix=cacheable_prefix)


def proxy_options(trusted_proxies: Iterable[str]) -> dict[str, Any]:
    """uvicorn ``Config`` options: ``X-Forwarded-For``/``-Proto`` honoured only from ``trusted_proxies``.

    uvicorn's default trusts 127.0.0.1, so any local process (or anything the local router
    passes on) could name the client address the ledger records; with no proxy named the
    headers are ignored and the address is the TCP peer's.
    """
    trusted = list(trusted_proxies)
    return {"proxy_headers": bool(trusted), "forwarded_allow_ips": trusted or None}
