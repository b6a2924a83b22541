"""A tiny real HTTP backend for the router tests: uvicorn serving a bare ASGI app.

Run as ``python router_backend.py ID``: binds 127.0.0.1:0, prints the port on stdout, serves
until killed. Endpoints: /id, /readyz, /echo (POST), /stream?n=&size= (chunked), /big?size=,
/conn (the upstream connection's client port), /headers, /slow?ms=[&id=], /crash-if?id= (POST: the
process SIGKILLs itself when the id is its own), /die-mid-response?id= (the process SIGKILLs
itself after sending the response head, when the id is its own) and /count (requests seen, by method and path).
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import sys
from collections import Counter
from typing import Any
from urllib.parse import parse_qs

import uvicorn

ID = sys.argv[1] if len(sys.argv) > 1 else "b"
SEEN: Counter[str] = Counter()


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    path = scope["path"]
    method = scope["method"]
    query = {k: v[0] for k, v in parse_qs(scope["query_string"].decode()).items()}
    SEEN[f"{method} {path}"] += 1
    body = b""
    while True:
        message = await receive()
        body += message.get("body", b"")
        if not message.get("more_body"):
            break

    async def reply(payload: bytes, status: int = 200, ctype: bytes = b"application/json") -> None:
        headers = [
            (b"content-type", ctype),
            (b"content-length", str(len(payload)).encode()),
            (b"x-backend", ID.encode()),
        ]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": payload})

    if path == "/stream":
        n, size = int(query.get("n", "10")), int(query.get("size", "100"))
        await send({"type": "http.response.start", "status": 200, "headers": [(b"x-backend", ID.encode())]})
        for i in range(n):
            await send({"type": "http.response.body", "body": bytes([65 + i % 26]) * size, "more_body": True})
            await asyncio.sleep(0)
        await send({"type": "http.response.body", "body": b""})
    elif path == "/echo":
        await reply(body, ctype=b"application/octet-stream")
    elif path == "/big":
        await reply(b"x" * int(query.get("size", "1000000")), ctype=b"application/octet-stream")
    elif path == "/conn":
        await reply(json.dumps({"id": ID, "port": scope["client"][1]}).encode())
    elif path == "/headers":
        await reply(json.dumps({k.decode(): v.decode() for k, v in scope["headers"]}).encode())
    elif path == "/slow":
        if query.get("id", ID) == ID:  # ?id= makes only that replica slow
            await asyncio.sleep(int(query.get("ms", "50")) / 1000)
        await reply(json.dumps({"id": ID}).encode())
    elif path == "/crash-if":
        if query.get("id") == ID:
            os.kill(os.getpid(), signal.SIGKILL)
        await reply(json.dumps({"id": ID}).encode())
    elif path == "/die-mid-response" and query.get("id") == ID:
        # a replica SIGKILLed between writing a response head and its body (uvicorn writes them apart)
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"1000")]})
        os.kill(os.getpid(), signal.SIGKILL)
    elif path == "/count":
        await reply(json.dumps(dict(SEEN)).encode())
    elif path == "/fail":
        await reply(json.dumps({"id": ID}).encode(), status=500)
    else:
        await reply(json.dumps({"id": ID}).encode())


def main() -> None:
    # proto must say TCP: asyncio only sets TCP_NODELAY on such sockets, and without it every response
    # written in two parts waits ~40 ms for a delayed ACK
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(128)  # before the port is announced, so the first connect cannot be refused
    print(sock.getsockname()[1], flush=True)
    config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off", http="h11")
    uvicorn.Server(config).run(sockets=[sock])


if __name__ == "__main__":
    main()
