"""The traffic generator's lean HTTP/1.1 client against a scripted server on a real socket."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Awaitable, Callable

import httpx
import pytest

from finpilot.fraud._traffic._http import HttpxSender, RawSender, SendError, open_sender

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter, dict[str, object]], Awaitable[bool]]


async def _read_request(reader: asyncio.StreamReader) -> dict[str, object] | None:
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError:
        return None
    lines = head.decode().split("\r\n")
    headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:] if line)}
    body = await reader.readexactly(int(headers.get("content-length", "0")))
    return {"line": lines[0], "headers": headers, "body": body}


class _Server:
    """A scripted HTTP server: ``handler`` answers each request and says whether to keep the connection."""

    def __init__(self, handler: Handler) -> None:
        self.handler = handler
        self.seen: list[dict[str, object]] = []
        self.writers: list[asyncio.StreamWriter] = []
        self.server: asyncio.Server | None = None
        self.url = ""

    @property
    def connections(self) -> int:
        return len(self.writers)

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.writers.append(writer)
        while (request := await _read_request(reader)) is not None:
            self.seen.append(request)
            if not await self.handler(reader, writer, request):
                break
        writer.close()

    async def __aenter__(self) -> _Server:
        self.server = await asyncio.start_server(self._client, "127.0.0.1", 0)
        self.url = f"http://127.0.0.1:{self.server.sockets[0].getsockname()[1]}"
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self.server is not None
        self.server.close()
        for writer in self.writers:
            writer.close()
        for writer in self.writers:
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()  # every transport closed, none left to the loop's teardown
        await self.server.wait_closed()


async def _json(writer: asyncio.StreamWriter, status: int, body: object, *, extra: str = "") -> None:
    data = json.dumps(body).encode()
    writer.write(f"HTTP/1.1 {status} X\r\ncontent-length: {len(data)}\r\n{extra}\r\n".encode() + data)
    await writer.drain()


def test_posts_json_with_the_key_and_reuses_one_connection() -> None:
    async def handler(_r: asyncio.StreamReader, w: asyncio.StreamWriter, request: dict[str, object]) -> bool:
        await _json(w, 201, {"echo": json.loads(request["body"])})  # type: ignore[arg-type]
        return True

    async def main() -> None:
        async with _Server(handler) as server:
            sender = RawSender(server.url + "/base/", timeout_s=5)
            for i in range(3):
                reply = await sender.post("/v1/things", {"n": i, "name": "ü"}, f"key-{i}")
                assert reply.status_code == 201
                assert reply.json() == {"echo": {"n": i, "name": "ü"}}
            await sender.aclose()
        assert server.connections == 1  # keep-alive
        assert [r["line"] for r in server.seen] == ["POST /base/v1/things HTTP/1.1"] * 3
        headers = server.seen[2]["headers"]
        assert isinstance(headers, dict)
        assert headers["idempotency-key"] == "key-2"
        assert headers["content-type"] == "application/json"
        assert headers["host"] == server.url.removeprefix("http://")

    asyncio.run(main())


def test_chunked_bodies_and_connection_close_are_honoured() -> None:
    async def handler(_r: asyncio.StreamReader, w: asyncio.StreamWriter, request: dict[str, object]) -> bool:
        if request["line"].startswith("POST /chunked"):  # type: ignore[union-attr]
            w.write(b'HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n4\r\n{"a"\r\n3;x=y\r\n:1}\r\n0\r\n\r\n')
            await w.drain()
            return True
        await _json(w, 402, {"closed": True}, extra="Connection: close\r\n")
        return False

    async def main() -> None:
        async with _Server(handler) as server:
            sender = RawSender(server.url, timeout_s=5)
            assert (await sender.post("/chunked", {}, "k1")).json() == {"a": 1}
            reply = await sender.post("/close", {}, "k2")
            assert (reply.status_code, reply.json()) == (402, {"closed": True})
            assert (await sender.post("/chunked", {}, "k3")).json() == {"a": 1}  # a fresh connection
            await sender.aclose()
        assert server.connections == 2

    asyncio.run(main())


def test_no_response_is_a_send_error_and_the_connection_is_not_reused() -> None:
    calls = 0

    async def handler(_r: asyncio.StreamReader, w: asyncio.StreamWriter, _request: dict[str, object]) -> bool:
        nonlocal calls
        calls += 1
        if calls == 1:
            w.write(b"garbage\r\n\r\n")
            return False
        if calls == 2:
            await asyncio.sleep(1)  # longer than the client waits
            return False
        await _json(w, 201, {"ok": True})
        return True

    async def main() -> None:
        async with _Server(handler) as server:
            sender = RawSender(server.url, timeout_s=0.3)
            with pytest.raises(SendError) as not_http:
                await sender.post("/x", {}, "k1")
            assert not_http.value.retry
            with pytest.raises(SendError, match="TimeoutError"):
                await sender.post("/x", {}, "k2")
            assert (await sender.post("/x", {}, "k3")).status_code == 201
            await sender.aclose()
        assert server.connections == 3

    asyncio.run(main())


def test_an_idle_connection_the_server_closed_is_replaced() -> None:
    async def handler(_r: asyncio.StreamReader, w: asyncio.StreamWriter, _request: dict[str, object]) -> bool:
        await _json(w, 201, {})
        return False  # closes after answering, without saying so (as an idle timeout does)

    async def main() -> None:
        async with _Server(handler) as server:
            sender = RawSender(server.url, timeout_s=5)
            assert (await sender.post("/x", {}, "k1")).status_code == 201
            # The case under test: the server's close reached the idle connection before its reuse.
            async with asyncio.timeout(10):
                while not sender._idle[0].reader.at_eof():
                    await asyncio.sleep(0.001)
            assert (await sender.post("/x", {}, "k2")).status_code == 201
            await sender.aclose()
        assert server.connections == 2

    asyncio.run(main())


def test_a_refused_connection_is_a_send_error() -> None:
    async def main() -> None:
        sender = RawSender("http://127.0.0.1:9", timeout_s=2)
        with pytest.raises(SendError):
            await sender.post("/x", {}, "k")
        await sender.aclose()

    asyncio.run(main())


def test_https_or_an_injected_transport_goes_through_httpx() -> None:
    def handle(request: httpx.Request) -> httpx.Response:
        assert request.headers["Idempotency-Key"] == "k"
        return httpx.Response(201, json=json.loads(request.content))

    async def main() -> None:
        https = open_sender("https://example.invalid", concurrency=4, timeout_s=1)
        assert isinstance(https, HttpxSender)
        await https.aclose()
        assert isinstance(open_sender("http://127.0.0.1:9", concurrency=4, timeout_s=1), RawSender)
        sender = open_sender("http://svc", concurrency=4, timeout_s=1, transport=httpx.MockTransport(handle))
        assert isinstance(sender, HttpxSender)
        reply = await sender.post("/v1/x", {"a": 1}, "k")
        assert (reply.status_code, reply.json()) == (201, {"a": 1})
        await sender.aclose()

    asyncio.run(main())
