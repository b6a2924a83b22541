"""How the traffic generator talks HTTP: a lean keep-alive HTTP/1.1 client, or httpx.

At 200 payments/s the generator's client is a cost on the same two cores as the service it
drives. A profile of ``finpilot traffic run`` on httpx showed about 6 ms of CPU per request, most
of it in httpcore's connection pool scanning its connections on every request, so the generator
saturated one core before the service did. :class:`RawSender` writes each request as bytes on
an idle connection from a plain list and parses the response itself (status, Content-Length or
chunked body), for a small fraction of that. It speaks plain ``http://`` only; an ``https://``
URL, or a transport injected by a test, goes through :class:`HttpxSender`, which is built by
core's client factory (:func:`~finpilot.core.async_http_client`). :class:`RawSender` takes the
rest of its settings from the same place (:data:`~finpilot.core.HTTP_DEFAULTS`: the connect
timeout, how long an idle connection is kept, the ``User-Agent``), so the two differ only in cost.
"""

# Why not a library: aiohttp 3.14.5 (C parser; ClientSession, TCPConnector(limit=concurrency),
# keep-alive) was measured against this client on 2026-11-29, 2 cores, load average 2.6-4.8.
# `finpilot traffic run` at 200/s for 20 s against bench/fraud/bench_acceptance.py's server,
# generator process CPU, median of 3 alternated runs: this client 3.2 s, aiohttp 4.5 s (1.4x);
# net of a 3 s run's start-up and setup, about 0.32 vs 0.53 ms per request (1.7x). The client
# alone, 3,000 POSTs to a minimal server in another process, median of 3, CPU ms per request:
# one at a time (1 ms apart) 0.20 here, 0.44 aiohttp, 1.97 httpx; 64 in flight 0.056, 0.17,
# 3.4. aiohttp's cost is spread over its request building (ClientRequest, headers, timers),
# with no knob that removes it (a DummyCookieJar changed nothing), so this client stays.

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import Any, Protocol
from urllib.parse import urlsplit

import httpx
import orjson

from finpilot.core import HTTP_DEFAULTS, InputError, async_http_client

_MAX_HEAD = 64 * 1024
_USER_AGENT = f"\r\nUser-Agent: {HTTP_DEFAULTS.user_agent}".encode()


class SendError(Exception):
    """A request got no HTTP response (refused, reset, timed out, or not HTTP); ``retry`` if sending again is safe."""

    def __init__(self, reason: str, *, retry: bool = True) -> None:
        super().__init__(reason)
        self.retry = retry


class Reply:
    """An HTTP response: status and body."""

    __slots__ = ("content", "status_code")

    def __init__(self, status_code: int, content: bytes) -> None:
        self.status_code = status_code
        self.content = content

    def json(self) -> Any:
        """The body parsed as JSON (``ValueError`` when it is not)."""
        return orjson.loads(self.content)


class Sender(Protocol):
    """Sends POSTs with an idempotency key to one service."""

    async def post(self, path: str, body: dict[str, Any], key: str) -> Reply:
        """POST ``body`` as JSON; :class:`SendError` when no response came."""
        ...

    async def aclose(self) -> None:
        """Close the connections."""
        ...


class HttpxSender:
    """Through an ``httpx.AsyncClient`` (for https, or a transport a test injects)."""

    def __init__(
        self, url: str, *, concurrency: int, timeout_s: float, transport: Any = None, token: str | None = None
    ) -> None:
        self._http = async_http_client(
            base_url=url, timeout_s=timeout_s, max_connections=concurrency, transport=transport
        )
        self._auth = {} if token is None else {"Authorization": f"Bearer {_header_safe(token)}"}

    async def post(self, path: str, body: dict[str, Any], key: str) -> Reply:
        """POST through httpx."""
        try:
            response = await self._http.post(path, json=body, headers={"Idempotency-Key": key, **self._auth})
        except httpx.HTTPError as exc:
            raise SendError(type(exc).__name__, retry=isinstance(exc, httpx.TransportError)) from None
        return Reply(response.status_code, response.content)

    async def aclose(self) -> None:
        """Close the client."""
        await self._http.aclose()


class _Connection:
    __slots__ = ("idle_since", "reader", "writer")

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        self.idle_since = 0.0

    def close(self) -> None:
        self.writer.close()


class RawSender:
    """HTTP/1.1 over asyncio streams, one request per connection at a time, idle connections reused.

    The caller bounds the requests in flight, which bounds the connections; a connection is
    dropped after any error or a ``Connection: close``, or when it has been idle longer than
    ``HTTP_DEFAULTS.keepalive_s``, and an idle one the server has closed is noticed before reuse
    (or, at worst, answers with an error that the caller retries once). ``timeout_s`` bounds a
    whole request, and opening a connection at most ``HTTP_DEFAULTS.connect_timeout(timeout_s)``.
    """

    def __init__(self, url: str, *, timeout_s: float, token: str | None = None) -> None:
        parts = urlsplit(url)
        if parts.scheme != "http" or parts.hostname is None:
            raise ValueError(f"RawSender speaks plain http only, not {url!r}")
        self._host = parts.hostname
        self._port = parts.port or 80
        self._prefix = parts.path.rstrip("/")
        self._head_host = parts.netloc.encode()
        self._auth = b"" if token is None else b"\r\nAuthorization: Bearer " + _header_safe(token).encode()
        self._timeout_s = timeout_s
        self._connect_s = HTTP_DEFAULTS.connect_timeout(timeout_s)
        self._idle: list[_Connection] = []
        self._open: set[_Connection] = set()

    async def _connection(self) -> _Connection:
        oldest = time.monotonic() - HTTP_DEFAULTS.keepalive_s
        while self._idle:
            conn = self._idle.pop()
            if conn.idle_since >= oldest and not conn.reader.at_eof() and not conn.writer.is_closing():
                return conn
            self._drop(conn)
        async with asyncio.timeout(self._connect_s):
            reader, writer = await asyncio.open_connection(self._host, self._port, limit=_MAX_HEAD)
        conn = _Connection(reader, writer)
        self._open.add(conn)
        return conn

    def _drop(self, conn: _Connection) -> None:
        self._open.discard(conn)
        conn.close()

    async def post(self, path: str, body: dict[str, Any], key: str) -> Reply:
        """POST ``body``; the reply, or :class:`SendError` (the connection is then dropped)."""
        payload = orjson.dumps(body)
        request = b"".join(
            (
                b"POST ",
                (self._prefix + path).encode(),
                b" HTTP/1.1\r\nHost: ",
                self._head_host,
                self._auth,
                _USER_AGENT,
                b"\r\nContent-Type: application/json\r\nIdempotency-Key: ",
                key.encode(),
                b"\r\nContent-Length: ",
                str(len(payload)).encode(),
                b"\r\n\r\n",
                payload,
            )
        )
        conn: _Connection | None = None
        try:
            async with asyncio.timeout(self._timeout_s):
                conn = await self._connection()
                conn.writer.write(request)
                status, content, keep = await _read_response(conn.reader)
        except (
            OSError,
            EOFError,
            TimeoutError,
            ValueError,
            asyncio.IncompleteReadError,
            asyncio.LimitOverrunError,
        ) as exc:
            if conn is not None:
                self._drop(conn)
            raise SendError(type(exc).__name__) from None
        except BaseException:  # cancelled mid-request: the connection's state is unknown
            if conn is not None:
                self._drop(conn)
            raise
        if keep:
            conn.idle_since = time.monotonic()
            self._idle.append(conn)
        else:
            self._drop(conn)
        return Reply(status, content)

    async def aclose(self) -> None:
        """Close every connection."""
        for conn in list(self._open):
            self._drop(conn)
        self._idle.clear()
        await asyncio.sleep(0)  # let the transports finish closing


async def _read_response(reader: asyncio.StreamReader) -> tuple[int, bytes, bool]:
    """Status, body and whether the connection may be reused."""
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head[:-4].split(b"\r\n")
    status_line = lines[0]
    if not status_line.startswith(b"HTTP/1.") or len(status_line) < 12:
        raise ValueError("not an HTTP/1.x response")
    status = int(status_line[9:12])
    length: int | None = None
    chunked = False
    keep = status_line.startswith(b"HTTP/1.1")
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        name = name.strip().lower()
        if name == b"content-length":
            length = int(value)
        elif name == b"transfer-encoding":
            chunked = b"chunked" in value.lower()
        elif name == b"connection":
            keep = b"close" not in value.lower()
    if chunked:
        return status, await _read_chunked(reader), keep
    if length is not None:
        return status, (await reader.readexactly(length) if length else b""), keep
    if status in {204, 304} or 100 <= status < 200:
        return status, b"", keep
    return status, await reader.read(), False  # no length: the body runs to the end of the connection


async def _read_chunked(reader: asyncio.StreamReader) -> bytes:
    parts: list[bytes] = []
    while True:
        size_line = await reader.readuntil(b"\r\n")
        size = int(size_line.split(b";", 1)[0].strip(), 16)
        if size == 0:
            while (await reader.readuntil(b"\r\n")) != b"\r\n":  # trailers
                pass
            return b"".join(parts)
        parts.append(await reader.readexactly(size))
        await reader.readexactly(2)


def _header_safe(token: str) -> str:
    # Written into a header verbatim: a line break would let it forge headers. Never echoed.
    if not token or not token.isascii() or not token.isprintable():
        raise InputError("the payments API token must be printable ASCII", field="token", fix="check its secret")
    return token


def open_sender(
    url: str, *, concurrency: int, timeout_s: float, transport: Any = None, token: str | None = None
) -> Sender:
    """The lean client for a plain ``http://`` URL, httpx for anything else or an injected transport.

    ``token`` is sent as ``Authorization: Bearer`` on every request (the payments API needs one).
    """
    if transport is None and url.startswith("http://"):
        with contextlib.suppress(ValueError):
            return RawSender(url, timeout_s=timeout_s, token=token)
    return HttpxSender(url, concurrency=concurrency, timeout_s=timeout_s, transport=transport, token=token)
