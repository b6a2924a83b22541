"""The fraud router: HTTP/1.1 in front of N scorer processes, each payment to its customer's owner.

It reads the request, takes ``customer_id`` from the JSON body, hashes it on the ring
(:class:`HashRing`) and forwards the request, unchanged but for ``X-Forwarded-For``, over a
keep-alive connection to the owner. While the owner is down (killed, restarting) the router
holds the request and retries it for up to ``hold_s``: a lost decision is worse than a slow
one, and a retry is safe because a scorer answers a repeated payment with its first decision
(restored from the ledger after a restart). A body without a readable ``customer_id`` goes to
scorer 0, which refuses it with the usual 422 naming the field.

Deliberately small, not the heal router: that one balances replicas that are interchangeable
(least outstanding, health-aware), while here exactly one process may answer a given customer.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from dataclasses import dataclass

import orjson

from finpilot.fraud._serving._ring import HashRing

_log = logging.getLogger("finpilot.fraud")

SCORE_PATH = "/api/v1/fraud/scores"
"""The one route the router forwards."""
_HEAD_LIMIT = 16 * 1024
_BODY_LIMIT = 8 * 1024
_CONNECT_S = 1.0


@dataclass
class RouterStats:
    """What the router did since it started."""

    requests: int = 0
    retries: int = 0
    held_too_long: int = 0


_Conn = tuple[asyncio.StreamReader, asyncio.StreamWriter]


def _plain(status: int, reason: str, body: bytes, *, close: bool = False) -> bytes:
    head = f"HTTP/1.1 {status} {reason}\r\ncontent-type: application/json\r\ncontent-length: {len(body)}\r\n"
    return (head + ("connection: close\r\n" if close else "") + "\r\n").encode() + body


def _error(status: int, reason: str, message: str, fix: str, *, close: bool = False) -> bytes:
    body = orjson.dumps({"error": reason.replace(" ", ""), "message": message, "field": None, "fix": fix})
    return _plain(status, reason, body, close=close)


def _customer_key(body: bytes) -> bytes:
    try:
        doc = orjson.loads(body)
    except orjson.JSONDecodeError:
        return b""
    customer = doc.get("customer_id") if isinstance(doc, dict) else None
    return customer.encode("utf-8", "surrogatepass") if isinstance(customer, str) else b""


class HashRouter:
    """Routes ``POST /api/v1/fraud/scores`` to ``upstreams[ring.owner(customer_id)]`` (``(host, port)`` each)."""

    def __init__(
        self, upstreams: list[tuple[str, int]], *, hold_s: float = 30.0, answer_s: float = 10.0, vnodes: int = 64
    ) -> None:
        self.ring = HashRing(len(upstreams), vnodes=vnodes)
        self.upstreams = upstreams
        self.hold_s = hold_s
        self.answer_s = answer_s
        self.stats = RouterStats()
        self._idle: list[list[_Conn]] = [[] for _ in upstreams]

    async def serve(self, host: str, port: int, stop: asyncio.Event, on_ready: object = None) -> None:
        """Listen on ``host:port`` until ``stop`` is set."""
        server = await asyncio.start_server(self._client, host, port, limit=_HEAD_LIMIT, backlog=2048)
        async with server:
            if callable(on_ready):
                on_ready(server.sockets[0].getsockname()[1])
            await stop.wait()
        for idle in self._idle:
            for _, writer in idle:
                writer.close()

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peer = writer.get_extra_info("peername")
        client = str(peer[0]) if peer else "unknown"
        try:
            while True:
                answer, close = await self._one(reader, client)
                if answer is None:
                    return
                writer.write(answer)
                await writer.drain()
                if close:
                    return
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError, ValueError):
            return
        finally:
            writer.close()

    async def _one(self, reader: asyncio.StreamReader, client: str) -> tuple[bytes | None, bool]:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
        except asyncio.IncompleteReadError:
            return None, True  # the client closed between requests
        lines = head.decode("latin-1").split("\r\n")
        method, path, _version = lines[0].split(" ", 2)
        headers: list[tuple[str, str]] = []
        length, close = 0, False
        for line in lines[1:]:
            if not line:
                continue
            name, _, value = line.partition(":")
            name, value = name.strip().lower(), value.strip()
            if name == "content-length":
                length = int(value)
            elif name == "connection":
                close = value.lower() == "close"
            elif name == "transfer-encoding":
                return _error(
                    501, "Not Implemented", "chunked bodies are not taken", "send Content-Length", close=True
                ), True
            if name not in {"x-forwarded-for", "connection", "keep-alive", "host"}:
                headers.append((name, value))
        if length > _BODY_LIMIT:
            return _error(
                413, "Payload Too Large", f"the body is over {_BODY_LIMIT} bytes", "send one payment", close=True
            ), True
        body = await reader.readexactly(length) if length else b""
        if path == "/healthz" and method == "GET":
            return _plain(200, "OK", b'{"status":"ok"}'), close
        if path != SCORE_PATH or method != "POST":
            return _error(404, "Not Found", "the fraud router serves POST " + SCORE_PATH, "POST payments there"), close
        self.stats.requests += 1
        owner = self.ring.owner_of_bytes(_customer_key(body))
        host, port = self.upstreams[owner]
        out = [f"POST {SCORE_PATH} HTTP/1.1", f"host: {host}:{port}", f"x-forwarded-for: {client}"]
        out += [f"{name}: {value}" for name, value in headers]
        request = ("\r\n".join(out) + "\r\n\r\n").encode("latin-1") + body
        return await self._forward(owner, request), close

    async def _forward(self, owner: int, request: bytes) -> bytes:
        deadline = time.monotonic() + self.hold_s
        pause = 0.01
        while True:
            conn: _Conn | None = self._idle[owner].pop() if self._idle[owner] else None
            try:
                if conn is None:
                    host, port = self.upstreams[owner]
                    conn = await asyncio.wait_for(asyncio.open_connection(host, port, limit=_HEAD_LIMIT), _CONNECT_S)
                conn[1].write(request)
                answer, keep = await asyncio.wait_for(_read_response(conn[0]), self.answer_s)
            except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, TimeoutError, ValueError):
                # Refused (restarting), reset (killed mid-request) or a stale keep-alive: the scorer
                # decides a repeated payment once, so sending it again is safe.
                if conn is not None:
                    conn[1].close()
                self.stats.retries += 1
                if time.monotonic() >= deadline:
                    self.stats.held_too_long += 1
                    return _error(
                        503,
                        "Service Unavailable",
                        f"scorer {owner} did not answer for {self.hold_s:g} s",
                        "retry the payment with the same transaction_id",
                        close=False,
                    )
                await asyncio.sleep(pause)
                pause = min(pause * 2, 0.2)
                continue
            if keep:
                self._idle[owner].append(conn)
            else:
                conn[1].close()
            return answer


async def _read_response(reader: asyncio.StreamReader) -> tuple[bytes, bool]:
    head = await reader.readuntil(b"\r\n\r\n")
    length, keep = 0, True
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        name = name.strip().lower()
        if name == b"content-length":
            length = int(value)
        elif name == b"connection" and value.strip().lower() == b"close":
            keep = False
    body = await reader.readexactly(length) if length else b""
    return head + body, keep


def run_router(
    upstreams: list[tuple[str, int]], host: str, port: int, *, hold_s: float = 30.0, on_ready: object = None
) -> RouterStats:
    """Run a :class:`HashRouter` until SIGINT or SIGTERM (uvloop when installed); its stats."""
    import signal

    router = HashRouter(upstreams, hold_s=hold_s)

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        await router.serve(host, port, stop, on_ready)

    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvloop ships with uvicorn[standard]
        asyncio.run(main())
    else:
        with contextlib.suppress(KeyboardInterrupt):
            uvloop.run(main())
    return router.stats
