"""Scripted HTTP/1.1 upstreams for the router's retry tests: raw sockets, in threads, each one misbehaving
in exactly one way a replica killed mid-write (or closing a keep-alive connection) does.

Behaviours: ``ok`` (answers every request, keep-alive), ``cut-body`` (head, part of the body, close),
``cut-head`` (half a head, close), ``garbled`` (a status line that is not HTTP), ``drop`` (reads the
request, closes without a byte), ``reset`` (reads the request, closes with RST), ``one-per-conn``
(answers the first request on a connection, keep-alive, and drops the connection on the second one).
Every upstream counts the requests it read, by method.
"""

from __future__ import annotations

import json
import socket
import struct
import threading
from collections import Counter

from finpilot.heal import Backend

BEHAVIOURS = ("ok", "cut-body", "cut-head", "garbled", "drop", "reset", "one-per-conn")


class FakeUpstream:
    """One scripted replica on 127.0.0.1:0 (see the module docstring); ``close()`` stops it."""

    def __init__(self, id: str, behaviour: str) -> None:
        assert behaviour in BEHAVIOURS, behaviour
        self.id = id
        self.behaviour = behaviour
        self.seen: Counter[str] = Counter()
        self._lock = threading.Lock()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = int(self._listener.getsockname()[1])
        self._conns: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def backend(self, weight: int = 100) -> Backend:
        """This upstream as a router backend."""
        return Backend(self.id, "127.0.0.1", self.port, weight)

    def close(self) -> None:
        """Stop listening and drop every open connection."""
        self._listener.close()
        with self._lock:
            for conn in self._conns:
                conn.close()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self._listener.accept()
            except OSError:
                return
            with self._lock:
                self._conns.append(conn)
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _read_request(self, conn: socket.socket, buffered: bytes) -> tuple[str, bytes] | None:
        while b"\r\n\r\n" not in buffered:
            chunk = conn.recv(65536)
            if not chunk:
                return None
            buffered += chunk
        head, _, rest = buffered.partition(b"\r\n\r\n")
        length = 0
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        while len(rest) < length:
            rest += conn.recv(65536)
        method = head.split(b" ", 1)[0].decode()
        with self._lock:
            self.seen[method] += 1
        return method, rest[length:]

    def _serve(self, conn: socket.socket) -> None:
        body = json.dumps({"id": self.id}).encode()
        ok = b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: %d\r\n\r\n%s" % (len(body), body)
        served = 0
        buffered = b""
        try:
            while (request := self._read_request(conn, buffered)) is not None:
                buffered = request[1]
                kind = self.behaviour
                if kind == "ok" or (kind == "one-per-conn" and served == 0):
                    conn.sendall(ok)
                    served += 1
                    continue
                if kind == "cut-body":
                    conn.sendall(b"HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\n" + b"x" * 10)
                elif kind == "cut-head":
                    conn.sendall(b"HTTP/1.1 200 OK\r\ncontent-le")
                elif kind == "garbled":
                    conn.sendall(b"\x00\x17garbage\r\n\r\n")
                elif kind == "reset":
                    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                break
        except OSError:
            pass
        finally:
            conn.close()
