"""What the router's per-request sample ring (what a canary judge reads) costs on the request path.

1. The added statement alone, timed with ``timeit``: one ``deque(maxlen=8192).append`` of
   ``(time.time(), latency_ms, is_5xx)``, ns per request.
2. The router's whole per-request time for context: ``--requests`` GETs on one keep-alive
   connection through a RouterThread to a tiny local backend (closed loop), µs per request.
3. Reading a full ring (what one analysis does per replica): ms.

Prints ONE JSON object on stdout. Example:
    .venv/bin/python bench/deliver/bench_rollout_samples.py --requests 3000
"""

from __future__ import annotations

import argparse
import http.client
import json
import statistics
import threading
import time
import timeit
from collections import deque
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from finpilot.heal import Backend, RouterThread
from finpilot.heal._router._balancer import SAMPLE_RING


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # head and body are two writes: without this, 40 ms delayed-ACK stalls

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("content-length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args: object) -> None:
        return


def main() -> None:
    """Run the three measurements and print them."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--requests", type=int, default=3000)
    args = ap.parse_args()

    ring: deque[tuple[float, float, bool]] = deque(maxlen=SAMPLE_RING)
    code, elapsed = "2xx", 0.0123
    runs = 5
    per = [
        t / 200_000 * 1e9
        for t in timeit.repeat(
            lambda: ring.append((time.time(), elapsed * 1000.0, code == "5xx")), number=200_000, repeat=runs
        )
    ]

    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    router = RouterThread("bench", retries=0)
    host, port = router.start()
    router.set_backends([Backend("a", "127.0.0.1", int(server.server_address[1]))])
    conn = http.client.HTTPConnection(host, port, timeout=10)
    for _ in range(200):  # warm-up
        conn.request("GET", "/")
        conn.getresponse().read()
    started = time.perf_counter()
    for _ in range(args.requests):
        conn.request("GET", "/")
        conn.getresponse().read()
    per_request_us = (time.perf_counter() - started) / args.requests * 1e6
    conn.close()
    read_started = time.perf_counter()
    rows = router.samples()["a"]
    read_ms = (time.perf_counter() - read_started) * 1000
    router.stop()
    server.shutdown()
    added_ns = statistics.median(per)
    print(
        json.dumps(
            {
                "ring_capacity": SAMPLE_RING,
                "append_ns_median": round(added_ns, 1),
                "append_ns_runs": [round(x, 1) for x in per],
                "router_request_us_closed_loop": round(per_request_us, 1),
                "append_share_of_request": round(added_ns / 1000 / per_request_us, 5),
                "full_ring_read_ms": round(read_ms, 2),
                "rows_read": len(rows),
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
