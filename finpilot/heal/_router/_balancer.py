"""The router: a health-aware HTTP/1.1 load balancer in front of one service's replicas.

Clients keep-alive to the router; the router keeps a pool of keep-alive connections per replica.
Replicas are chosen by smooth weighted round-robin (nginx's algorithm: exact shares, evenly
interleaved) among those that are ready, have a weight above zero and are not in a passive
cool-off. A request whose attempt fails before the client got any byte -- connect refused, reset,
end of stream, no response head in time, or a garbled or cut-off response from a replica killed
mid-write -- is retried when retrying is safe: an idempotent method, or a POST carrying
``Idempotency-Key``; any request is retried when it never left the router (refused connect).
A retry goes to a replica it has not tried; when every ready one has been tried, to any ready replica
that is not cooling off, on a fresh connection, waiting up to ``connect_timeout_s`` for one to turn
ready or end its cool-off. A replica turning unready hands its waiting retryable requests to another
replica at once. Once the client has received a response byte nothing is retried.

Request bodies are read whole (up to ``max_body`` bytes, 413 beyond) so that a retry can replay
them; response bodies are streamed and never buffered beyond one 64 KiB read.

Errors the router answers itself::

    400 malformed request          413 body above max_body         431 head above 64 KiB
    502 every attempt failed       503 no ready replica            504 no response head in time
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import orjson

from finpilot.audit.kinds import ROUTER_BACKEND_EJECTED
from finpilot.core import InputError, NotFoundError
from finpilot.heal._router._http import (
    HOP_BY_HOP,
    MAX_HEAD,
    READ_CHUNK,
    Head,
    HttpError,
    forward_fields,
    iter_chunked,
    parse_head,
    read_body,
    read_head,
)
from finpilot.heal._router._stats import BackendStats, RouterMetrics

__all__ = ["Backend", "Router", "RouterThread"]

_log = logging.getLogger(__name__)
_T = TypeVar("_T")
IDEMPOTENT = frozenset({b"GET", b"HEAD", b"OPTIONS", b"PUT", b"DELETE", b"TRACE"})
# Fields the router rewrites itself rather than forwarding.
_REQUEST_DROP = frozenset({b"content-length", b"expect", b"x-forwarded-for", b"forwarded"})
_HIGH_WATER = 256 * 1024
_REASONS = {
    400: "Bad Request",
    413: "Content Too Large",
    431: "Request Header Fields Too Large",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
    505: "HTTP Version Not Supported",
}

EventHook = Callable[[str, Mapping[str, Any]], None]
Sample = tuple[float, float, bool]
"""One request a replica finished: (unix time at the end, latency in ms, error = 5xx or transport failure)."""
SAMPLE_RING = 8192
"""Samples kept per replica (at 50 requests a second to one replica, almost three minutes)."""


@dataclass(frozen=True)
class Backend:
    """One replica the router may send requests to; ``weight`` is its relative share (0 = none)."""

    id: str
    host: str
    port: int
    weight: int = 100


class _NoResponse(Exception):
    """The attempt failed before any response byte arrived: a retry is safe for retryable requests, and for
    every request when ``sent`` is False (the request never left the router)."""

    def __init__(self, timeout: bool = False, sent: bool = True) -> None:
        super().__init__("timeout" if timeout else "no response")
        self.timeout = timeout
        self.sent = sent


class _BadUpstream(Exception):
    """The replica answered something unusable (a garbled head, a body cut short), and nothing has reached
    the client yet: the request was sent, so it is retried only when retryable."""


class _Broken(Exception):
    """The relay broke after the client got response bytes: the client connection must close."""


class _Conn:
    __slots__ = ("idle_since", "reader", "writer")

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        self.idle_since = 0.0


class _Replica:
    __slots__ = (
        "awaiting",
        "backend",
        "current",
        "delay_s",
        "ejected_until",
        "histogram",
        "pool",
        "ready",
        "samples",
        "stats",
        "weight",
    )

    def __init__(self, backend: Backend, ready: bool) -> None:
        self.backend = backend
        self.weight = backend.weight
        self.ready = ready
        self.ejected_until = 0.0
        self.current = 0  # smooth weighted round-robin state
        self.delay_s = 0.0  # chaos latency
        self.pool: deque[_Conn] = deque()
        self.stats = BackendStats()
        # (unix time, latency ms, error) per finished request, newest last: what a canary judge reads.
        self.samples: deque[Sample] = deque(maxlen=SAMPLE_RING)
        self.histogram: Any = None  # the Prometheus child, looked up once
        # Upstream connections of retryable requests still waiting for a response head: closing them
        # when the replica turns unready moves those requests to another replica at once.
        self.awaiting: set[_Conn] = set()

    def abort_awaiting(self) -> None:
        for conn in self.awaiting:
            conn.writer.close()  # the exchange sees end of stream before any byte: a retryable failure
        self.awaiting.clear()

    def close_pool(self) -> None:
        while self.pool:
            self.pool.pop().writer.close()


def _validate(backends: Sequence[Backend]) -> None:
    seen: set[str] = set()
    for i, b in enumerate(backends):
        if not b.id or b.id in seen:
            raise InputError(
                f"backend id {b.id!r} is empty or repeated",
                field=f"backends[{i}].id",
                fix="give every replica a unique id",
            )
        seen.add(b.id)
        if b.weight < 0:
            raise InputError(
                f"backend {b.id!r} has weight {b.weight}",
                field=f"backends[{i}].weight",
                fix="use a weight of 0 (no traffic) or more",
            )
        if not 0 < b.port < 65536:
            raise InputError(
                f"backend {b.id!r} has port {b.port}",
                field=f"backends[{i}].port",
                fix="use a TCP port between 1 and 65535",
            )


class Router:
    """A health-aware HTTP/1.1 load balancer for one service (see the module docstring).

    Setters may be called from any thread: from outside the router's event loop they are applied on
    it and return once applied. New backends start ready unless ``initially_ready`` is False.
    ``probe_path`` turns on an active probe (GET every ``probe_interval_s``) for standalone use;
    ``on_event(kind, details)`` hears passive-health decisions so a caller can audit them.
    """

    def __init__(
        self,
        service: str,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        retries: int = 2,
        max_body: int = 1024 * 1024,
        connect_timeout_s: float = 1.0,
        response_timeout_s: float = 30.0,
        cooloff_s: float = 1.0,
        pool_size: int = 64,
        pool_idle_s: float = 4.0,
        client_idle_s: float = 75.0,
        initially_ready: bool = True,
        probe_path: str | None = None,
        probe_interval_s: float = 0.5,
        probe_timeout_s: float = 0.5,
        metrics_path: str | None = "/-/metrics",
        on_event: EventHook | None = None,
    ) -> None:
        if retries < 0 or max_body < 0 or pool_size < 0:
            raise InputError(
                "retries, max_body and pool_size must not be negative", field="router", fix="pass values of 0 or more"
            )
        self.service = service
        self.host = host
        self.port = port
        self.retries = retries
        self.max_body = max_body
        self.connect_timeout_s = connect_timeout_s
        self.response_timeout_s = response_timeout_s
        self.cooloff_s = cooloff_s
        self.pool_size = pool_size
        self.pool_idle_s = pool_idle_s
        self.client_idle_s = client_idle_s
        self.initially_ready = initially_ready
        self.probe_path = probe_path
        self.probe_interval_s = probe_interval_s
        self.probe_timeout_s = probe_timeout_s
        self.metrics_path = metrics_path.encode() if metrics_path else None
        self.on_event = on_event
        self.metrics = RouterMetrics(service)
        self._replicas: dict[str, _Replica] = {}
        self._weight_overrides: dict[str, int] = {}  # set_weights outlives set_backends (a canary restarts)
        self._order: list[_Replica] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self._loop_thread: int | None = None
        self._server: asyncio.Server | None = None
        self._clients: set[asyncio.Task[None]] = set()
        self._probe_task: asyncio.Task[None] | None = None
        self._sweep_task: asyncio.Task[None] | None = None
        self._waiting: dict[asyncio.StreamWriter, float] = {}  # client connections awaiting a request
        self._address: tuple[str, int] | None = None
        self._totals = {"requests": 0, "retries": 0, "client_connections": 0}
        self._answered: dict[int, int] = {}
        # Set (and replaced) whenever a replica may have become pickable: wakes retries waiting for one.
        self._changed = asyncio.Event()

    # ------------------------------------------------------------------ lifecycle
    async def start(self) -> tuple[str, int]:
        """Listen; return the bound (host, port)."""
        self._loop = asyncio.get_running_loop()
        self._loop_thread = threading.get_ident()
        self._server = await asyncio.start_server(self._serve_client, self.host, self.port, limit=MAX_HEAD)
        sockname = self._server.sockets[0].getsockname()
        self._address = (str(sockname[0]), int(sockname[1]))
        if self.probe_path:
            self._probe_task = asyncio.create_task(self._probe_loop())
        self._sweep_task = asyncio.create_task(self._sweep_idle())
        return self._address

    async def stop(self) -> None:
        """Stop listening, end open client connections and close pooled upstream connections."""
        if self._server is not None:
            self._server.close()
        tasks = [t for t in (self._probe_task, self._sweep_task, *self._clients) if t is not None]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if self._server is not None:
            await self._server.wait_closed()
            self._server = None
        for replica in self._order:
            replica.close_pool()

    @property
    def address(self) -> tuple[str, int] | None:
        """The bound (host, port) once started."""
        return self._address

    # ------------------------------------------------------------------ thread-safe setters
    def _call(self, fn: Callable[[], _T]) -> _T:
        loop = self._loop
        if loop is None or not loop.is_running() or threading.get_ident() == self._loop_thread:
            return fn()
        done: concurrent.futures.Future[_T] = concurrent.futures.Future()

        def run() -> None:
            try:
                done.set_result(fn())
            except BaseException as exc:  # handed to the calling thread
                done.set_exception(exc)

        loop.call_soon_threadsafe(run)
        return done.result(timeout=10)

    def set_backends(self, backends: Sequence[Backend]) -> None:
        """Replace the replica set; replicas keeping their id keep their state and metrics."""
        backends = list(backends)
        _validate(backends)
        self._call(lambda: self._apply_backends(backends))

    def _apply_backends(self, backends: list[Backend]) -> None:
        old = self._replicas
        fresh: dict[str, _Replica] = {}
        for b in backends:
            replica = old.get(b.id)
            if replica is None:
                replica = _Replica(b, self.initially_ready)
            elif replica.backend != b:
                if (replica.backend.host, replica.backend.port) != (b.host, b.port):
                    replica.close_pool()
                replica.backend = b
            replica.weight = self._weight_overrides.get(b.id, b.weight)
            fresh[b.id] = replica
        for gone in old.keys() - fresh.keys():
            old[gone].close_pool()
            old[gone].abort_awaiting()
            self._weight_overrides.pop(gone, None)
            self.metrics.forget(gone)
        self._replicas = fresh
        self._order = list(fresh.values())
        self._notify()

    def set_ready(self, backend_id: str, ready: bool) -> None:
        """Probe result for a replica. Unknown ids are ignored: a result for a removed replica is stale."""
        self._call(lambda: self._apply_ready(backend_id, ready))

    def _apply_ready(self, backend_id: str, ready: bool) -> None:
        replica = self._replicas.get(backend_id)
        if replica is None:
            return
        if ready and not replica.ready:
            replica.ejected_until = 0.0  # it went down and came back: the passive cool-off is moot
            replica.ready = True
            self._notify()
        elif not ready and replica.ready:
            replica.abort_awaiting()  # a hung replica must not hold retryable requests until the timeout
            replica.ready = False

    def set_weights(self, weights: Mapping[str, int]) -> None:
        """Override weights by replica id (canary releases) for as long as those replicas stay in the set."""
        for backend_id, weight in weights.items():
            if not isinstance(weight, int) or weight < 0:
                raise InputError(
                    f"weight {weight!r} for {backend_id!r} is not a whole number >= 0",
                    field=f"weights.{backend_id}",
                    fix="use 0 (no traffic) or a positive integer",
                )
        self._call(lambda: self._apply_weights(dict(weights)))

    def _apply_weights(self, weights: dict[str, int]) -> None:
        missing = sorted(weights.keys() - self._replicas.keys())
        if missing:
            raise NotFoundError(
                f"no backend {missing[0]!r} in router {self.service!r}", fix=f"use one of {sorted(self._replicas)}"
            )
        for backend_id, weight in weights.items():
            self._replicas[backend_id].weight = weight
            self._weight_overrides[backend_id] = weight
        for replica in self._order:
            replica.current = 0
        self._notify()

    def set_delay(self, backend_id: str, ms: float) -> None:
        """Chaos: add ``ms`` milliseconds before every request sent to one replica (0 removes it)."""
        if ms < 0:
            raise InputError(f"delay {ms} ms is negative", field="ms", fix="use 0 or more milliseconds")

        def apply() -> None:
            replica = self._replicas.get(backend_id)
            if replica is None:
                raise NotFoundError(
                    f"no backend {backend_id!r} in router {self.service!r}", fix=f"use one of {sorted(self._replicas)}"
                )
            replica.delay_s = ms / 1000

        self._call(apply)

    def stats(self) -> dict[str, Any]:
        """Per replica: requests, errors, retries, p50/p99 ms, in-flight, ready; plus router totals."""
        return self._call(self._snapshot)

    def _snapshot(self) -> dict[str, Any]:
        now = time.monotonic()
        backends: dict[str, Any] = {}
        for r in self._order:
            ejected = r.ejected_until > now
            backends[r.backend.id] = {
                **r.stats.snapshot(),
                "ready": r.ready and not ejected,
                "probe_ready": r.ready,
                "ejected": ejected,
                "weight": r.weight,
                "delay_ms": r.delay_s * 1000,
                "address": f"{r.backend.host}:{r.backend.port}",
            }
        return {
            "service": self.service,
            "address": list(self._address) if self._address else None,
            **self._totals,
            "answered_by_router": {str(k): v for k, v in sorted(self._answered.items())},
            "backends": backends,
        }

    def samples(self, since: float = 0.0) -> dict[str, list[Sample]]:
        """Per replica id, the requests it finished at or after unix time ``since``, oldest first (bounded ring)."""

        def take() -> dict[str, list[Sample]]:
            return {r.backend.id: [s for s in r.samples if s[0] >= since] for r in self._order}

        return self._call(take)

    def prometheus(self) -> bytes:
        """Prometheus text exposition of this router's metrics (also served on ``metrics_path``)."""

        def export() -> bytes:
            now = time.monotonic()
            ready = {r.backend.id: r.ready and r.ejected_until <= now for r in self._order}
            return self.metrics.export({r.backend.id: r.stats for r in self._order}, ready)

        return self._call(export)

    # ------------------------------------------------------------------ selection and health
    def _pick(self, tried: list[str]) -> _Replica | None:
        candidates = [r for r in self._order if r.ready and r.weight > 0 and r.backend.id not in tried]
        now = time.monotonic()
        # When every candidate is cooling off, try them anyway: a cool-off is a guess, a 503 is certain.
        return self._rotate([r for r in candidates if r.ejected_until <= now] or candidates)

    @staticmethod
    def _rotate(live: list[_Replica]) -> _Replica | None:
        # smooth weighted round-robin over ``live``
        best: _Replica | None = None
        total = 0
        for r in live:
            r.current += r.weight
            total += r.weight
            if best is None or r.current > best.current:
                best = r
        if best is not None:
            best.current -= total
        return best

    async def _await_replica(self, deadline: float) -> _Replica | None:
        """For a retry that has tried every ready replica: a ready one not cooling off (tried or not), waiting
        until ``deadline`` (monotonic) for one to turn ready or end its cool-off; None when none did."""
        while True:
            now = time.monotonic()
            ready = [r for r in self._order if r.ready and r.weight > 0]
            live = [r for r in ready if r.ejected_until <= now]
            if live:
                return self._rotate(live)
            if now >= deadline:
                return None
            wake = min([deadline, *(r.ejected_until for r in ready)])
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(wake - now):
                    await self._changed.wait()

    def _notify(self) -> None:
        self._changed.set()
        self._changed = asyncio.Event()

    def _eject(self, replica: _Replica, reason: str) -> None:
        now = time.monotonic()
        was_ejected = replica.ejected_until > now
        replica.ejected_until = now + self.cooloff_s
        replica.close_pool()
        if not was_ejected:
            self._event(
                ROUTER_BACKEND_EJECTED.name,
                {"backend": replica.backend.id, "reason": reason, "cooloff_s": self.cooloff_s},
            )

    def _event(self, kind: str, details: Mapping[str, Any]) -> None:
        if self.on_event is None:
            return
        try:
            self.on_event(kind, {"service": self.service, **details})
        except Exception:  # a broken hook must not break routing
            _log.exception("router event hook failed for %s", kind)

    async def _sweep_idle(self) -> None:
        while True:
            await asyncio.sleep(max(0.01, min(self.client_idle_s / 4, 5.0)))
            cutoff = time.monotonic() - self.client_idle_s
            for writer, since in list(self._waiting.items()):
                if since < cutoff:
                    writer.close()

    async def _probe_loop(self) -> None:
        while True:
            await asyncio.gather(*(self._probe(r) for r in list(self._order)))
            await asyncio.sleep(self.probe_interval_s)

    async def _probe(self, replica: _Replica) -> None:
        b = replica.backend
        writer: asyncio.StreamWriter | None = None
        ok = False
        try:
            async with asyncio.timeout(self.probe_timeout_s):
                reader, writer = await asyncio.open_connection(b.host, b.port)
                writer.write(
                    f"GET {self.probe_path} HTTP/1.1\r\nHost: {b.host}:{b.port}\r\n"
                    "User-Agent: finpilot-router-probe\r\nConnection: close\r\n\r\n".encode()
                )
                status = (await reader.readline()).split(b" ", 2)
            ok = len(status) > 1 and status[1].isdigit() and 200 <= int(status[1]) < 400
        except (OSError, TimeoutError):
            ok = False
        finally:
            if writer is not None:
                writer.close()
        if replica is self._replicas.get(b.id):
            self._apply_ready(b.id, ok)

    # ------------------------------------------------------------------ client side
    async def _serve_client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._clients.add(task)
        self._totals["client_connections"] += 1
        peer = writer.get_extra_info("peername")
        ip = str(peer[0]) if peer else "unknown"
        # RFC 7239: an IPv6 node is bracketed and quoted; computed once per connection, not per request
        client = (ip.encode(), (b'"[' + ip.encode() + b']"') if ":" in ip else ip.encode())
        try:
            while True:
                # The sweeper closes connections that wait here too long: cheaper than a timer per request.
                self._waiting[writer] = time.monotonic()
                try:
                    raw = await read_head(reader)
                    if raw is None:
                        break
                    head = parse_head(raw, request=True)
                    if head.first[1] == self.metrics_path and head.first[0] == b"GET":
                        self._reply(writer, 200, self.prometheus(), ctype=b"text/plain; version=0.0.4")
                        continue
                    if head.get(b"expect") == b"100-continue":
                        if head.length is not None and head.length > self.max_body:
                            raise HttpError(413, "request body too large")
                        writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")
                    body = await read_body(reader, head, self.max_body)
                except HttpError as exc:
                    self._reply(writer, exc.status, exc.reason, close=True)
                    break
                finally:
                    self._waiting.pop(writer, None)
                self._totals["requests"] += 1
                if not await self._proxy(head, body, writer, client) or not head.keep_alive():
                    break
                if writer.transport.get_write_buffer_size() > _HIGH_WATER:
                    await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, _Broken):
            pass
        except asyncio.CancelledError:
            pass  # router stopping
        finally:
            self._clients.discard(task)
            self._waiting.pop(writer, None)
            writer.close()

    def _reply(
        self,
        writer: asyncio.StreamWriter,
        status: int,
        message: str | bytes,
        *,
        close: bool = False,
        ctype: bytes = b"application/json",
    ) -> None:
        if isinstance(message, bytes):
            body = message
        else:
            self._answered[status] = self._answered.get(status, 0) + 1
            self.metrics.rejected.labels(self.service, str(status)).inc()
            body = orjson.dumps({"error": message, "service": self.service, "status": status})
        lines = [
            b"HTTP/1.1 %d %s" % (status, _REASONS.get(status, "OK").encode()),
            b"content-type: " + ctype,
            b"content-length: %d" % len(body),
        ]
        if status == 503:
            lines.append(b"retry-after: 1")
        if close:
            lines.append(b"connection: close")
        writer.write(b"\r\n".join(lines) + b"\r\n\r\n" + body)

    def _upstream_request(self, head: Head, body: bytes, client: tuple[bytes, bytes]) -> bytes:
        # One pass over the fields: this runs for every request, so no repeated scans or set unions.
        method, target, _ = head.first
        lines = [method + b" " + target + b" HTTP/1.1"]
        named = head.connection
        xff: list[bytes] = []
        forwarded: list[bytes] = []
        has_host = has_proto = False
        for key, value in head.fields:
            if key in HOP_BY_HOP or (named and key in named):
                continue
            if key in _REQUEST_DROP:
                if key == b"x-forwarded-for":
                    xff.append(value)
                elif key == b"forwarded":
                    forwarded.append(value)
                continue
            if key == b"host":
                has_host = True
            elif key == b"x-forwarded-proto":
                has_proto = True
            lines.append(key + b": " + value)
        if not has_host:
            assert self._address is not None
            lines.append(b"host: %s:%d" % (self._address[0].encode(), self._address[1]))
        ip, node = client
        xff.append(ip)
        forwarded.append(b"for=" + node + b";proto=http")
        lines.append(b"x-forwarded-for: " + b", ".join(xff))
        lines.append(b"forwarded: " + b", ".join(forwarded))
        if not has_proto:
            lines.append(b"x-forwarded-proto: http")
        if body or head.length is not None or head.chunked:
            lines.append(b"content-length: %d" % len(body))
        lines.append(b"\r\n")
        return b"\r\n".join(lines) + body

    async def _proxy(self, head: Head, body: bytes, writer: asyncio.StreamWriter, client: tuple[bytes, bytes]) -> bool:
        method = head.first[0]
        retryable = method in IDEMPOTENT or (method == b"POST" and head.get(b"idempotency-key") is not None)
        request = self._upstream_request(head, body, client)
        tried: list[str] = []
        timed_out = False
        deadline = 0.0
        for attempt in range(self.retries + 1):
            replica = self._pick(tried)
            if replica is None:
                if not tried or timed_out:  # a replica that timed out is not asked again: that would double the wait
                    break
                # Every ready replica was tried (or none is ready right now): a replica that is ready again
                # must still get the request rather than the client a 502, so wait a connect's worth for one.
                deadline = deadline or time.monotonic() + self.connect_timeout_s
                replica = await self._await_replica(deadline)
                if replica is None:
                    break
                if replica.backend.id in tried:  # its pooled connections are suspect: one of them just failed
                    replica.close_pool()
            if replica.backend.id not in tried:
                tried.append(replica.backend.id)
            if attempt:
                self._totals["retries"] += 1
                replica.stats.retries += 1
            try:
                return await self._exchange(replica, head, request, writer, retryable)
            except _NoResponse as exc:
                timed_out = exc.timeout
                if exc.sent and not retryable:
                    break
            except _BadUpstream:
                timed_out = False
                if not retryable:
                    break
        if not tried:
            self._reply(writer, 503, "no ready backend")
        elif timed_out:
            self._reply(writer, 504, "no response from backend in time")
        else:
            self._reply(writer, 502, "backend failed")
        return True

    # ------------------------------------------------------------------ upstream side
    async def _acquire(self, replica: _Replica) -> _Conn:
        pool = replica.pool
        now = time.monotonic()
        while pool:
            conn = pool.pop()  # most recently used first: the least likely to have been closed by the replica
            if conn.reader.at_eof() or conn.writer.is_closing() or now - conn.idle_since > self.pool_idle_s:
                conn.writer.close()
                continue
            return conn
        b = replica.backend
        try:
            async with asyncio.timeout(self.connect_timeout_s):
                reader, writer = await asyncio.open_connection(b.host, b.port, limit=MAX_HEAD)
        except (OSError, TimeoutError) as exc:
            replica.stats.connect_failures += 1
            self._eject(replica, f"connect failed: {type(exc).__name__}")
            raise _NoResponse(isinstance(exc, TimeoutError), sent=False) from exc
        replica.stats.connects += 1
        return _Conn(reader, writer)

    async def _exchange(
        self, replica: _Replica, head: Head, request: bytes, writer: asyncio.StreamWriter, retryable: bool
    ) -> bool:
        stats = replica.stats
        stats.requests += 1
        stats.in_flight += 1
        started = time.perf_counter()
        conn: _Conn | None = None
        reusable = False
        try:
            if replica.delay_s:
                await asyncio.sleep(replica.delay_s)
            conn = await self._acquire(replica)
            if not replica.ready:  # it turned unready while we connected: nothing is sent, so any request may move
                reusable = True
                raise _NoResponse(sent=False)
            # One timer for the whole exchange (a timer costs a heap push and a cancel); ``head_seen`` tells
            # a stall before the response head (retryable) from one in the body (too late to retry).
            head_seen = False
            try:
                async with asyncio.timeout(self.response_timeout_s) as deadline:
                    if retryable:
                        replica.awaiting.add(conn)
                    try:
                        conn.writer.write(request)
                        while True:
                            raw = await read_head(conn.reader)
                            if raw is None:
                                raise _NoResponse
                            resp = parse_head(raw, request=False)
                            if resp.first[1][:1] != b"1":
                                break
                            if resp.first[1] == b"101":  # the router strips Upgrade: a broken replica
                                raise _BadUpstream
                    except (ConnectionError, OSError):
                        raise _NoResponse from None
                    except HttpError:
                        raise _BadUpstream from None
                    finally:
                        replica.awaiting.discard(conn)
                    head_seen = True
                    reusable, keep = await self._relay(head, resp, conn, writer, deadline)
            except TimeoutError:
                if head_seen:
                    raise _Broken from None  # the body stalled: the client may already have part of it
                raise _NoResponse(timeout=True) from None
            code = resp.first[1][:1].decode() + "xx"
            stats.status[code] = stats.status.get(code, 0) + 1
            elapsed = time.perf_counter() - started
            stats.latencies.append(elapsed)
            replica.samples.append((time.time(), elapsed * 1000.0, code == "5xx"))
            if replica.histogram is None:
                replica.histogram = self.metrics.latency.labels(self.service, replica.backend.id)
            replica.histogram.observe(elapsed)
            return keep
        except (_NoResponse, _BadUpstream) as exc:
            stats.errors += 1
            replica.samples.append((time.time(), (time.perf_counter() - started) * 1000.0, True))
            # A new connection that failed mid-exchange is the replica's fault, not a keep-alive race (a
            # pooled one may have been closed by the replica as it idled): cool it off, so that a retry
            # waits for a replica that can serve rather than burning its attempts here.
            if (
                conn is not None
                and not conn.idle_since  # set only when pooled: this connection is new
                and replica.ready  # not the hand-off of an unready replica's waiting requests
                and self._replicas.get(replica.backend.id) is replica  # nor of a removed one's
                and not (isinstance(exc, _NoResponse) and exc.timeout)
            ):
                self._eject(replica, f"failed on a new connection: {type(exc).__name__}")
            raise
        except _Broken:
            stats.errors += 1
            replica.samples.append((time.time(), (time.perf_counter() - started) * 1000.0, True))
            raise
        finally:
            stats.in_flight -= 1
            if conn is not None:
                if (
                    reusable
                    and len(replica.pool) < self.pool_size
                    and self._replicas.get(replica.backend.id) is replica
                ):
                    conn.idle_since = time.monotonic()
                    replica.pool.append(conn)
                else:
                    conn.writer.close()

    async def _relay(
        self, req: Head, resp: Head, conn: _Conn, writer: asyncio.StreamWriter, deadline: asyncio.Timeout
    ) -> tuple[bool, bool]:
        """Send the response to the client; return (upstream reusable, client connection reusable)."""
        status = resp.first[1]
        client_keep = req.keep_alive()
        upstream_keep = resp.keep_alive()
        if req.first[0] == b"HEAD" or status in (b"204", b"304"):
            framing = "none"
        elif resp.chunked:
            framing = "chunked"
        elif resp.length is not None:
            framing = "length"
        else:
            framing = "close"
            upstream_keep = False
            client_keep = False
        if framing == "chunked" and req.http10:  # HTTP/1.0 knows no chunks: delimit by closing instead
            client_keep = False
        lines = [b"HTTP/1.1 " + status + b" " + resp.first[2], *forward_fields(resp)]
        if framing == "chunked" and not req.http10:
            lines.append(b"transfer-encoding: chunked")
        if not client_keep:
            lines.append(b"connection: close")
        elif req.http10:
            lines.append(b"connection: keep-alive")
        out = b"\r\n".join(lines) + b"\r\n\r\n"
        reader = conn.reader
        if framing == "none":
            writer.write(out)
            return upstream_keep, client_keep
        if framing == "length" and (resp.length or 0) <= READ_CHUNK:
            # Fast path: the whole small response in one client write.
            try:
                data = await reader.readexactly(resp.length or 0)
            except (ConnectionError, OSError, asyncio.IncompleteReadError):
                raise _BadUpstream from None
            writer.write(out + data)
            return upstream_keep, client_keep
        writer.write(out)
        loop = asyncio.get_running_loop()
        try:
            if framing == "length":
                left = resp.length or 0
                while left:
                    data = await reader.read(min(left, READ_CHUNK))
                    if not data:
                        raise asyncio.IncompleteReadError(b"", left)
                    left -= len(data)
                    writer.write(data)
                    await self._pace(writer, deadline, loop)
            elif framing == "chunked":
                async for data in iter_chunked(reader):
                    writer.write(data if req.http10 else b"%x\r\n%s\r\n" % (len(data), data))
                    await self._pace(writer, deadline, loop)
                if not req.http10:
                    writer.write(b"0\r\n\r\n")
            else:
                while data := await reader.read(READ_CHUNK):
                    writer.write(data)
                    await self._pace(writer, deadline, loop)
        except (ConnectionError, OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, HttpError):
            raise _Broken from None
        return upstream_keep, client_keep

    async def _pace(
        self, writer: asyncio.StreamWriter, deadline: asyncio.Timeout, loop: asyncio.AbstractEventLoop
    ) -> None:
        # A streaming body may run long; the timeout guards against a stall, not against its length.
        deadline.reschedule(loop.time() + self.response_timeout_s)
        if writer.transport.get_write_buffer_size() > _HIGH_WATER:
            await writer.drain()


class RouterThread:
    """A Router on its own event loop in a daemon thread, for synchronous callers (the reconciler, the CLI)."""

    def __init__(self, service: str, **options: Any) -> None:
        self.router = Router(service, **options)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None

    def start(self, timeout: float = 10.0) -> tuple[str, int]:
        """Start the thread and the router; return the bound (host, port)."""
        started: concurrent.futures.Future[tuple[str, int]] = concurrent.futures.Future()
        loop = asyncio.new_event_loop()
        self._loop = loop

        def main() -> None:
            asyncio.set_event_loop(loop)
            try:
                started.set_result(loop.run_until_complete(self.router.start()))
            except BaseException as exc:
                started.set_exception(exc)
                loop.close()
                return
            try:
                loop.run_forever()
            finally:
                loop.run_until_complete(self.router.stop())
                loop.run_until_complete(loop.shutdown_asyncgens())
                loop.close()

        self._thread = threading.Thread(target=main, name=f"router-{self.router.service}", daemon=True)
        self._thread.start()
        return started.result(timeout=timeout)

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the router and its thread (idempotent)."""
        loop, thread = self._loop, self._thread
        if loop is None or thread is None:
            return
        with contextlib.suppress(RuntimeError):  # the loop already stopped
            asyncio.run_coroutine_threadsafe(self.router.stop(), loop).result(timeout=timeout)
            loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout)
        self._loop = self._thread = None

    @property
    def address(self) -> tuple[str, int] | None:
        """The bound (host, port) once started."""
        return self.router.address

    def set_backends(self, backends: Sequence[Backend]) -> None:
        """See Router.set_backends."""
        self.router.set_backends(backends)

    def set_ready(self, backend_id: str, ready: bool) -> None:
        """See Router.set_ready."""
        self.router.set_ready(backend_id, ready)

    def set_weights(self, weights: Mapping[str, int]) -> None:
        """See Router.set_weights."""
        self.router.set_weights(weights)

    def set_delay(self, backend_id: str, ms: float) -> None:
        """See Router.set_delay."""
        self.router.set_delay(backend_id, ms)

    def stats(self) -> dict[str, Any]:
        """See Router.stats."""
        return self.router.stats()

    def samples(self, since: float = 0.0) -> dict[str, list[Sample]]:
        """See Router.samples."""
        return self.router.samples(since)

    def prometheus(self) -> bytes:
        """See Router.prometheus."""
        return self.router.prometheus()
