"""The router's added latency: the same backend reached directly and through the router, in the same run.

Three processes besides this one, so no two of them share an interpreter (or a GIL):

1. a backend: uvicorn (h11) serving a tiny ASGI app, ``GET /id`` -> 14-byte JSON with Content-Length;
2. the router (:class:`finpilot.heal.Router` on its own asyncio loop) in front of that one backend;
3. the load generator: raw keep-alive sockets, ``--concurrency`` connections per target (default 1:
   closed loop, one request at a time, which measures latency rather than queueing). It alternates
   blocks of ``--block`` requests between the direct connection and the router, so drift on the
   noisy machine (other jobs, CPU frequency) hits both sides alike.

Added latency = percentile(router) - percentile(direct), per repeat; the summary is the median over
``--repeat`` repeats. ``--profile`` runs one more repeat with cProfile inside the router process and
reports where its time went.

Prints ONE JSON object on stdout; progress on stderr. Example:
    .venv/bin/python -m bench.heal.bench_router --repeat 5 > bench/out/heal-router.json
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from bench.audit._common import emit, header, loadavg, log, pct, target

REQUEST = b"GET /id HTTP/1.1\r\nHost: bench\r\nUser-Agent: bench-router\r\n\r\n"


# ---------------------------------------------------------------------- roles (child processes)
def role_backend() -> None:
    import uvicorn

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        body = b'{"id":"bench"}'
        headers = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(body))]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    # IPPROTO_TCP explicitly: asyncio sets TCP_NODELAY only on sockets that say so
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.bind(("127.0.0.1", 0))
    sock.listen(512)
    print(sock.getsockname()[1], flush=True)
    config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off", http="h11")
    uvicorn.Server(config).run(sockets=[sock])


def role_router(backend_port: int, profile_out: str | None) -> None:
    from finpilot.heal import Backend, Router

    async def main() -> None:
        router = Router("bench")
        router.set_backends([Backend("b0", "127.0.0.1", backend_port)])
        _, port = await router.start()
        print(port, flush=True)
        stop = asyncio.Event()
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
        await stop.wait()
        print(json.dumps(router.stats()["backends"]["b0"]), flush=True)
        await router.stop()

    if profile_out:
        import cProfile

        prof = cProfile.Profile()
        prof.runcall(asyncio.run, main())
        prof.dump_stats(profile_out)
    else:
        asyncio.run(main())


def role_splice(backend_port: int) -> None:
    """The floor for any asyncio streams proxy: one upstream connection per client, bytes pumped both ways,
    no parsing, no choice, no metrics. The router's cost above this is what its HTTP handling adds."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", backend_port)

        async def pump(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            while data := await src.read(65536):
                dst.write(data)
            dst.close()

        await asyncio.gather(pump(reader, up_writer), pump(up_reader, writer), return_exceptions=True)

    async def main() -> None:
        server = await asyncio.start_server(handle, "127.0.0.1", 0)
        print(server.sockets[0].getsockname()[1], flush=True)
        stop = asyncio.Event()
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
        await stop.wait()
        print("{}", flush=True)
        server.close()

    asyncio.run(main())


def _request(sock: socket.socket) -> None:
    sock.sendall(REQUEST)
    buf = b""
    while b"\r\n\r\n" not in buf:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("closed")
        buf += chunk
    head, _, rest = buf.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    if not head.startswith(b"HTTP/1.1 200"):
        raise ConnectionError(head.split(b"\r\n", 1)[0].decode())
    while len(rest) < length:
        rest += sock.recv(65536)


def role_load(direct: int, routed: int, n: int, block: int, warmup: int, concurrency: int) -> None:
    import threading

    def connect(port: int) -> socket.socket:
        s = socket.create_connection(("127.0.0.1", port))
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return s

    results: dict[str, list[float]] = {"direct": [], "router": []}
    lock = threading.Lock()

    def worker() -> None:
        socks = {"direct": connect(direct), "router": connect(routed)}
        for s in socks.values():
            for _ in range(warmup):
                _request(s)
        mine: dict[str, list[float]] = {"direct": [], "router": []}
        per = n // concurrency
        done = 0
        while done < per:
            for name in ("direct", "router"):
                s = socks[name]
                for _ in range(min(block, per - done)):
                    t0 = time.perf_counter_ns()
                    _request(s)
                    mine[name].append((time.perf_counter_ns() - t0) / 1e6)
            done += min(block, per - done)
        with lock:
            for name, values in mine.items():
                results[name] += values
        for s in socks.values():
            s.close()

    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - started
    print(json.dumps({"latencies_ms": results, "wall_s": wall}))


# ---------------------------------------------------------------------- orchestration
def _spawn(*args: str) -> tuple[subprocess.Popen[str], int]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "bench.heal.bench_router", *args],
        stdout=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).resolve().parents[2],
    )
    assert proc.stdout is not None
    return proc, int(proc.stdout.readline())


def _cpu_s(pid: int) -> tuple[float, float]:
    """(user, system) CPU seconds a process has used (from /proc; 10 ms ticks)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    tick = os.sysconf("SC_CLK_TCK")
    return int(fields[11]) / tick, int(fields[12]) / tick


def _per_request(before: tuple[float, float], after: tuple[float, float], n: int) -> dict[str, float]:
    return {k: round((after[i] - before[i]) / n * 1e6, 1) for i, k in enumerate(("user", "system"))}


def _summarise(values: list[float]) -> dict[str, float]:
    return {
        "p50": round(statistics.median(values), 4),
        "p90": round(pct(values, 90), 4),
        "p99": round(pct(values, 99), 4),
        "n": len(values),
    }


def one_run(
    args: argparse.Namespace,
    backend: subprocess.Popen[str],
    backend_port: int,
    profile_out: str | None = None,
    kind: str = "router",
) -> dict[str, Any]:
    router, router_port = _spawn(
        "--role",
        kind,
        "--backend-port",
        str(backend_port),
        *(["--profile-out", profile_out] if profile_out else []),
    )
    try:
        cmd = [
            sys.executable,
            "-m",
            "bench.heal.bench_router",
            "--role",
            "load",
            "--backend-port",
            str(backend_port),
            "--router-port",
            str(router_port),
            "--n",
            str(args.n),
            "--block",
            str(args.block),
            "--warmup",
            str(args.warmup),
            "--concurrency",
            str(args.concurrency),
        ]
        load_before = loadavg()
        cpu_before = _cpu_s(router.pid), _cpu_s(backend.pid)
        out = subprocess.run(cmd, capture_output=True, text=True, check=True, cwd=Path(__file__).resolve().parents[2])
        data = json.loads(out.stdout)
        cpu_after = _cpu_s(router.pid), _cpu_s(backend.pid)
    finally:
        router.send_signal(signal.SIGTERM)
        assert router.stdout is not None
        tail = router.stdout.read()
        router.wait(30)
    router_stats = json.loads(tail.strip().splitlines()[-1]) if tail.strip() else {}
    direct = _summarise(data["latencies_ms"]["direct"])
    routed = _summarise(data["latencies_ms"]["router"])
    return {
        "direct_ms": direct,
        "router_ms": routed,
        "added_ms": {q: round(routed[q] - direct[q], 4) for q in ("p50", "p90", "p99")},
        "throughput_rps": round(2 * args.n / data["wall_s"], 1),
        # CPU per request is immune to the machine's noise: the router's own cost, next to the backend's
        "router_cpu_us_per_request": _per_request(cpu_before[0], cpu_after[0], args.n + args.warmup),
        "backend_cpu_us_per_request": _per_request(cpu_before[1], cpu_after[1], 2 * (args.n + args.warmup)),
        "router_stats": {k: router_stats.get(k) for k in ("requests", "errors", "connects", "p50_ms", "p99_ms")},
        "loadavg_before": load_before,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--role", choices=["main", "backend", "router", "splice", "load"], default="main")
    ap.add_argument("--backend-port", type=int)
    ap.add_argument("--router-port", type=int)
    ap.add_argument("--profile-out")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--n", type=int, default=3000, help="requests per target per repeat")
    ap.add_argument("--block", type=int, default=100)
    ap.add_argument("--warmup", type=int, default=200)
    ap.add_argument("--concurrency", type=int, default=1)
    ap.add_argument("--profile", action="store_true")
    ap.add_argument("--no-splice", action="store_true", help="skip the byte-splicing asyncio proxy (the floor)")
    args = ap.parse_args()
    if args.role == "backend":
        return role_backend()
    if args.role == "router":
        return role_router(args.backend_port, args.profile_out)
    if args.role == "splice":
        return role_splice(args.backend_port)
    if args.role == "load":
        return role_load(args.backend_port, args.router_port, args.n, args.block, args.warmup, args.concurrency)

    result = header("heal.router_added_latency", args)
    backend, backend_port = _spawn("--role", "backend")
    runs = []
    try:
        for i in range(args.repeat):
            run = one_run(args, backend, backend_port)
            log(
                f"repeat {i + 1}/{args.repeat}: added p50 {run['added_ms']['p50']} ms, p99 {run['added_ms']['p99']} ms "
                f"(direct p50 {run['direct_ms']['p50']}, router p50 {run['router_ms']['p50']})"
            )
            if not args.no_splice:
                run["splice_floor"] = one_run(args, backend, backend_port, kind="splice")
                log(f"  splice floor: added p50 {run['splice_floor']['added_ms']['p50']} ms")
            runs.append(run)
        if args.profile:
            with tempfile.TemporaryDirectory() as tmp:
                out = os.path.join(tmp, "router.prof")
                one_run(args, backend, backend_port, out)
                result["profile_router_top"] = _profile_top(out)
    finally:
        backend.send_signal(signal.SIGTERM)
        backend.wait(30)
    med = {q: round(statistics.median(r["added_ms"][q] for r in runs), 4) for q in ("p50", "p90", "p99")}
    result["runs"] = runs
    result["summary"] = {
        "added_ms_median_over_repeats": med,
        "direct_p50_ms": round(statistics.median(r["direct_ms"]["p50"] for r in runs), 4),
        "router_p50_ms": round(statistics.median(r["router_ms"]["p50"] for r in runs), 4),
        "router_cpu_us_per_request": {
            k: statistics.median(r["router_cpu_us_per_request"][k] for r in runs) for k in ("user", "system")
        },
        "backend_cpu_us_per_request": {
            k: statistics.median(r["backend_cpu_us_per_request"][k] for r in runs) for k in ("user", "system")
        },
        "target_added_p50": target(med["p50"], 1.0, "<", "ms"),
    }
    if not args.no_splice:
        result["summary"]["splice_floor"] = {
            "added_ms_median_over_repeats": {
                q: round(statistics.median(r["splice_floor"]["added_ms"][q] for r in runs), 4)
                for q in ("p50", "p90", "p99")
            },
            "cpu_us_per_request": {
                k: statistics.median(r["splice_floor"]["router_cpu_us_per_request"][k] for r in runs)
                for k in ("user", "system")
            },
        }
    result["loadavg_after"] = loadavg()
    emit(result)


def _profile_top(path: str, top: int = 25) -> list[str]:
    import io
    import pstats

    buf = io.StringIO()
    pstats.Stats(path, stream=buf).sort_stats("tottime").print_stats(top)
    lines = [ln.rstrip() for ln in buf.getvalue().splitlines() if ln.strip()]
    start = next((i for i, ln in enumerate(lines) if ln.lstrip().startswith("ncalls")), 0)
    return lines[start:]


if __name__ == "__main__":
    main()
