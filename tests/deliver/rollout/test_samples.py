"""Per-request samples at the router: each replica's requests with latency and error, in a bounded ring."""

from __future__ import annotations

import http.client
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from finpilot.heal import Backend, RouterThread
from finpilot.heal._router._balancer import SAMPLE_RING


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        status = 503 if self.path == "/fail" else 200
        self.send_response(status)
        self.send_header("content-length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args: object) -> None:
        return


@pytest.fixture
def backend() -> Iterator[int]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield int(server.server_address[1])
    server.shutdown()
    server.server_close()


def test_each_request_is_one_sample_of_the_replica_that_answered(backend: int) -> None:
    router = RouterThread("svc", retries=0)
    host, port = router.start()
    try:
        router.set_backends([Backend("a", "127.0.0.1", backend), Backend("dead", "127.0.0.1", 1, weight=0)])
        before = time.time()
        conn = http.client.HTTPConnection(host, port, timeout=5)
        for path in ["/ok", "/fail", "/ok"]:
            conn.request("GET", path)
            conn.getresponse().read()
        conn.close()
        samples = router.samples()
        assert [s[2] for s in samples["a"]] == [False, True, False]
        assert samples["dead"] == []
        assert all(before <= s[0] <= time.time() and s[1] >= 0 for s in samples["a"])
        assert router.samples(since=time.time() + 1) == {"a": [], "dead": []}
        router.set_backends([Backend("dead", "127.0.0.1", 1)])  # a transport failure is an error sample
        conn = http.client.HTTPConnection(host, port, timeout=5)
        conn.request("GET", "/ok")
        assert conn.getresponse().status == 502
        conn.close()
        assert [s[2] for s in router.samples()["dead"]] == [True]
    finally:
        router.stop()


def test_the_ring_is_bounded() -> None:
    assert 1000 <= SAMPLE_RING <= 100_000
