"""Serving an ASGI app on a real socket in a test's thread (shared by the console and fraud tests)."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
import time
from collections.abc import Generator, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import uvicorn

from finpilot.console import tcp_nodelay

__all__ = ["Streamed", "serve_in_thread", "server_error", "stream_body"]


class _ThreadServer(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        yield  # the test's main thread keeps its signals


@contextlib.contextmanager
def serve_in_thread(app: Any, *, lifespan: str = "on") -> Iterator[str]:
    """Serve ``app`` under uvicorn on 127.0.0.1, a free port, in a thread; its base URL."""
    sock = tcp_nodelay(socket.create_server(("127.0.0.1", 0), backlog=2048))
    port = sock.getsockname()[1]
    server = _ThreadServer(uvicorn.Config(app, log_level="warning", access_log=False, lifespan=lifespan))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            server.should_exit = True
            sock.close()
            raise AssertionError("the server did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)
        sock.close()


@dataclass
class Streamed:
    """What :func:`stream_body` saw: the status, the response headers (names lower-case), how many
    body chunks the application asked for, and whether it asked for them all."""

    status: int
    headers: dict[str, str]
    chunks_read: int
    body_exhausted: bool


def stream_body(
    app: Any, path: str, chunks: Iterable[bytes], headers: dict[str, str], *, method: str = "POST"
) -> Streamed:
    """Call ``app`` (ASGI) directly, handing it ``chunks`` one ``receive()`` at a time.

    A test client reads a whole body before the app sees it; this shows how much of a
    (lazily made) body the server really read before it answered.
    """
    source = iter(chunks)
    read = 0
    exhausted = False
    start: dict[str, Any] = {}

    async def receive() -> dict[str, Any]:
        nonlocal read, exhausted
        chunk = next(source, None)
        if chunk is None:
            exhausted = True
            return {"type": "http.disconnect"}
        read += 1
        return {"type": "http.request", "body": chunk, "more_body": True}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start" and not start:
            start.update(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(k.lower().encode(), v.encode()) for k, v in {"host": "testserver", **headers}.items()],
        "client": ("127.0.0.1", 50000),
        "server": ("testserver", 80),
        "state": {},
    }
    asyncio.run(app(scope, receive, send))
    found = {bytes(k).decode().lower(): bytes(v).decode() for k, v in start.get("headers", ())}
    return Streamed(int(start.get("status", 0)), found, read, exhausted)


def server_error(app: Any) -> Any:
    """The response to a handler's unexpected exception: adds a test-only route that raises, calls it."""
    from starlette.testclient import TestClient

    def boom() -> None:
        raise RuntimeError("a bug")

    app.add_api_route("/test-only/boom", boom)
    with TestClient(app, raise_server_exceptions=False) as client:
        return client.get("/test-only/boom")
