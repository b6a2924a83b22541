"""Open-loop HTTP load generator, run as a process of its own by ``bench_http``.

Requests go out at a constant rate on a fixed schedule (request i is due at ``t0 + i / rate``)
over a pool of keep-alive connections, with raw asyncio streams (no client library on the hot
path). Latency is measured from the *scheduled* time, not from the moment the request was
written: when the server (or this process) falls behind, the queueing delay counts, so
coordinated omission cannot hide it (the wrk2 correction).

Input: a file of request bodies, one per line (empty lines mean GET without a body). Output: ONE
JSON object on stdout with the latency samples' summary and this process's own CPU time.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import sys
import time
from pathlib import Path
from typing import Any


def pct(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100) of already sorted values."""
    if not values:
        return math.nan
    k = max(0, min(len(values) - 1, math.ceil(q / 100 * len(values)) - 1))
    return values[k]


def latency_summary(ms: list[float]) -> dict[str, float | int]:
    """p50/p90/p99/p99.9/max of millisecond samples."""
    s = sorted(ms)
    out: dict[str, float | int] = {"n": len(s)}
    for name, q in (("p50", 50), ("p90", 90), ("p99", 99), ("p99_9", 99.9)):
        out[name] = round(pct(s, q), 3)
    out["max"] = round(s[-1], 3) if s else math.nan
    out["mean"] = round(sum(s) / len(s), 3) if s else math.nan
    return out


def build_requests(bodies: list[bytes], method: str, path: str, host: str, token: str) -> list[bytes]:
    """Complete HTTP/1.1 requests, built before the clock starts."""
    head = f"{method} {path} HTTP/1.1\r\nHost: {host}\r\n"
    if token:
        head += f"Authorization: Bearer {token}\r\n"
    out = []
    for body in bodies:
        if method == "GET":
            out.append((head + "\r\n").encode())
        else:
            extra = f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
            out.append((head + extra).encode() + body)
    return out


async def _read_response(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head[9:12])
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip())
    body = await reader.readexactly(length) if length else b""
    return status, body


async def run(
    host: str, port: int, requests: list[bytes], rate: float, connections: int, warmup_s: float
) -> dict[str, Any]:
    """Send ``requests`` at ``rate``/s; the first ``warmup_s`` seconds' worth are sent but not counted."""
    n = len(requests)
    pool = [await asyncio.open_connection(host, port) for _ in range(connections)]
    queue: asyncio.Queue[tuple[int, float] | None] = asyncio.Queue()
    due = [0.0] * n
    sent = [0.0] * n
    done = [0.0] * n
    status = [0] * n
    errors: list[str] = []
    sample_body: list[bytes] = []
    clock = time.perf_counter

    async def worker(conn: tuple[asyncio.StreamReader, asyncio.StreamWriter]) -> None:
        reader, writer = conn
        while True:
            item = await queue.get()
            if item is None:
                return
            i, _ = item
            sent[i] = clock()
            try:
                writer.write(requests[i])
                code, body = await _read_response(reader)
            except (OSError, asyncio.IncompleteReadError, ValueError) as exc:
                errors.append(f"{type(exc).__name__}: {exc}"[:200])
                code = -1
                reader, writer = await asyncio.open_connection(host, port)
            else:
                if not sample_body and code == 200:
                    sample_body.append(body)
            done[i] = clock()
            status[i] = code

    workers = [asyncio.create_task(worker(c)) for c in pool]
    cpu0 = os.times()
    t0 = clock() + 0.05
    for i in range(n):
        when = t0 + i / rate
        due[i] = when
        wait = when - clock()
        if wait > 0:
            await asyncio.sleep(wait)
        queue.put_nowait((i, when))
    for _ in workers:
        queue.put_nowait(None)
    await asyncio.gather(*workers)
    t_end = clock()
    cpu1 = os.times()
    for _, w in pool:
        w.close()

    first = min(n, round(warmup_s * rate))
    idx = range(first, n)
    ok = [i for i in idx if 200 <= status[i] < 300]
    bad = [i for i in idx if not 200 <= status[i] < 300]
    window = (max(done[i] for i in idx) - due[first]) if idx else math.nan
    codes: dict[str, int] = {}
    for i in bad:
        codes[str(status[i])] = codes.get(str(status[i]), 0) + 1
    return {
        "requests_counted": len(idx),
        "warmup_requests": first,
        "target_rate_per_s": rate,
        "achieved_rate_per_s": round(len(idx) / window, 1) if idx else math.nan,
        "ok": len(ok),
        "errors": len(bad),
        "error_statuses": codes,
        "error_samples": errors[:5],
        "latency_ms_from_schedule": latency_summary([(done[i] - due[i]) * 1000 for i in ok]),
        "service_ms_from_send": latency_summary([(done[i] - sent[i]) * 1000 for i in ok]),
        "send_lag_ms": latency_summary([(sent[i] - due[i]) * 1000 for i in idx]),
        "connections": connections,
        "loadgen_cpu_s": round(cpu1.user - cpu0.user + cpu1.system - cpu0.system, 3),
        "loadgen_wall_s": round(t_end - t0, 3),
        "sample_response": sample_body[0].decode(errors="replace")[:400] if sample_body else None,
    }


def main() -> None:
    """Parse arguments, send, print the JSON."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--url", required=True, help="http://host:port")
    ap.add_argument("--path", default="/api/v1/fraud/scores")
    ap.add_argument("--method", default="POST", choices=("GET", "POST"))
    ap.add_argument("--bodies", type=Path, required=True, help="one JSON body per line")
    ap.add_argument("--token-file", type=Path, help="file holding the bearer token")
    ap.add_argument("--rate", type=float, required=True)
    ap.add_argument("--warmup-s", type=float, default=0.0)
    ap.add_argument("--connections", type=int, default=32)
    args = ap.parse_args()
    hostport = args.url.split("://", 1)[1].rstrip("/")
    host, _, port = hostport.rpartition(":")
    token = args.token_file.read_text().strip() if args.token_file else ""
    bodies = [line.encode() for line in args.bodies.read_text().splitlines()]
    requests = build_requests(bodies, args.method, args.path, hostport, token)
    result = asyncio.run(run(host, int(port), requests, args.rate, args.connections, args.warmup_s))
    result["path"] = args.path
    json.dump(result, sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
