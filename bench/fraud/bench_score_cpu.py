"""CPU per ``POST /api/v1/fraud/scores``, in one process: the console app called as ASGI, no network.

Builds the real console (``create_app``) over a SQLite ledger, a token store with an operator
token and a fraud service with a small trained model, runs its lifespan, then sends each
payment as a raw ASGI request (``--inflight`` at a time on one event loop, as uvicorn would
hand them over) and counts the process's CPU time (every thread: the event loop, the ledger's
writer, the thread pool). What is left out is only uvicorn's HTTP parsing and the socket.
Payments come from :func:`finpilot.fraud.iter_payments` (customers and terminals vary).
``--profile`` prints cProfile's top functions of one extra run on stderr.

Only the public API is used, so the same file measures older code: put that code first on
``PYTHONPATH`` (``git archive COMMIT finpilot | tar -x -C DIR``).

Prints ONE JSON object on stdout; progress on stderr. Example:
    PYTHONPATH=$PWD .venv/bin/python bench/fraud/bench_score_cpu.py --requests 2000 --repeats 5
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import io
import json
import os
import pstats
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Awaitable, Callable, MutableMapping
from pathlib import Path
from typing import Any

EPOCH0 = 1_767_225_600  # 2026-01-01T00:00:00Z: payment times are this plus the generator's seconds
Message = MutableMapping[str, Any]


def log(*parts: object) -> None:
    """Progress on stderr."""
    print(*parts, file=sys.stderr, flush=True)


def thread_cpu() -> dict[str, float]:
    """CPU seconds per Python thread name (numbered pool threads summed under one name)."""
    tick = os.sysconf("SC_CLK_TCK")
    names = {t.native_id: re.sub(r"[_-]?\d+$", "", t.name) for t in threading.enumerate()}
    out: dict[str, float] = {}
    for task in Path("/proc/self/task").iterdir():
        try:
            name = names.get(int(task.name), "other")
            fields = (task / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:  # the thread ended meanwhile
            continue
        out[name] = out.get(name, 0.0) + (int(fields[11]) + int(fields[12])) / tick
    return out


def bodies(n: int, offset: int) -> list[bytes]:
    """``n`` payment bodies in stream order, transaction ids unique to this run."""
    from finpilot.fraud import iter_payments

    out = []
    for p in iter_payments(customers=2000, terminals=4000, days=None, seed=11):
        if len(out) == n:
            break
        body = {
            "transaction_id": f"r{offset}-{p.tx_id}",
            "time": EPOCH0 + offset * 86_400 + p.seconds,
            "customer_id": f"c{p.customer}",
            "terminal_id": f"t{p.terminal}",
            "amount": p.amount,
        }
        out.append(json.dumps(body).encode())
    return out


async def call(app: Callable[..., Awaitable[None]], token: str, body: bytes) -> int:
    """One ``POST /api/v1/fraud/scores`` as uvicorn would pass it; the status code."""
    scope: dict[str, Any] = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/api/v1/fraud/scores",
        "raw_path": b"/api/v1/fraud/scores",
        "root_path": "",
        "query_string": b"",
        "headers": [
            (b"host", b"127.0.0.1"),
            (b"authorization", b"Bearer " + token.encode()),
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
        ],
        "client": ("127.0.0.1", 40000),
        "server": ("127.0.0.1", 8000),
    }
    sent = False
    status = 0

    async def receive() -> Message:
        nonlocal sent
        if sent:
            await asyncio.sleep(3600)
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: Message) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]

    await app(scope, receive, send)
    return status


async def run(app: Any, token: str, payloads: list[bytes], inflight: int) -> list[int]:
    """Send every payload, ``inflight`` at a time; the status codes."""
    queue = iter(payloads)
    statuses: list[int] = []

    async def worker() -> None:
        for body in queue:
            statuses.append(await call(app, token, body))

    await asyncio.gather(*(worker() for _ in range(inflight)))
    return statuses


async def lifespan(app: Any) -> Callable[[], Awaitable[None]]:
    """Run the app's lifespan start-up; the function that shuts it down."""
    inbox: asyncio.Queue[Message] = asyncio.Queue()
    outbox: asyncio.Queue[Message] = asyncio.Queue()

    async def send(message: Message) -> None:
        await outbox.put(message)

    task = asyncio.ensure_future(app({"type": "lifespan", "asgi": {"version": "3.0"}}, inbox.get, send))
    await inbox.put({"type": "lifespan.startup"})
    started = await outbox.get()
    if started["type"] != "lifespan.startup.complete":
        raise RuntimeError(f"lifespan start-up failed: {started}")

    async def stop() -> None:
        await inbox.put({"type": "lifespan.shutdown"})
        await outbox.get()
        await task

    return stop


def train(root: Path) -> Path:
    """A model trained on 30 days of synthetic payments."""
    from finpilot.fraud import generate_payments, read_payments, train_artifact

    csv_path = root / "train.csv"
    generate_payments(csv_path, customers=2000, terminals=4000, days=30, seed=1)
    train_artifact(read_payments(csv_path)).save(root / "model")
    return root / "model"


def measure(model: Path, root: Path, n: int, inflight: int, warmup: int, profile: bool) -> dict[str, Any]:
    """One run on a fresh data dir: CPU and wall time per counted request."""
    from finpilot.audit import open_ledger
    from finpilot.console import create_app, open_token_store
    from finpilot.core import FraudSettings, Settings
    from finpilot.fraud import FraudService

    settings = Settings(data_dir=root, fraud=FraudSettings(model_dir=model))
    with open_ledger(settings) as ledger, open_token_store(settings) as tokens:
        _info, token = tokens.create("bench", "operator")
        fraud = FraudService.from_settings(settings.fraud, ledger)
        app = create_app(settings, ledger, tokens, fraud=fraud)
        payloads = bodies(warmup + n, offset=0)

        async def main() -> dict[str, Any]:
            stop = await lifespan(app)
            try:
                warm = await run(app, token, payloads[:warmup], inflight)
                profiler = cProfile.Profile() if profile else None
                threads0 = thread_cpu()
                cpu0, wall0 = time.process_time(), time.perf_counter()
                if profiler:
                    profiler.enable()
                got = await run(app, token, payloads[warmup:], inflight)
                if profiler:
                    profiler.disable()
                cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
                threads1 = thread_cpu()
            finally:
                await stop()
            bad = [s for s in warm + got if s != 200]
            if bad:
                raise RuntimeError(f"{len(bad)} requests failed, e.g. status {bad[0]}")
            if profiler:
                text = io.StringIO()
                pstats.Stats(profiler, stream=text).sort_stats("cumulative").print_stats(45)
                log(text.getvalue())
            split = {k: (v - threads0.get(k, 0.0)) * 1000 / n for k, v in threads1.items()}
            return {
                "cpu_ms_per_request": cpu * 1000 / n,
                "wall_ms_per_request": wall * 1000 / n,
                "threads_ms_per_request": {k: round(v, 3) for k, v in split.items() if v > 0},
            }

        return asyncio.run(main())


def main() -> None:
    """Parse arguments, run the repeats, print one JSON object."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--requests", type=int, default=2000, help="counted requests per repeat")
    parser.add_argument("--warmup", type=int, default=300, help="requests sent first and not counted")
    parser.add_argument("--inflight", type=int, default=8, help="concurrent requests on the event loop")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--profile", action="store_true", help="cProfile one extra run (stderr)")
    parser.add_argument("--model", type=Path, help="a trained model directory (default: train one)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-score-cpu-") as tmp:
        root = Path(tmp)
        model = args.model or train(root)
        runs = []
        for r in range(args.repeats):
            got = measure(model, root / f"run{r}", args.requests, args.inflight, args.warmup, False)
            log(
                f"run {r}: {got['cpu_ms_per_request']:.3f} ms CPU, {got['wall_ms_per_request']:.3f} ms wall per request"
            )
            runs.append(got)
        if args.profile:
            measure(model, root / "profiled", args.requests, args.inflight, args.warmup, True)
    cpu = [r["cpu_ms_per_request"] for r in runs]
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=False)
    print(
        json.dumps(
            {
                "bench": "fraud-score-cpu",
                "code": os.environ.get("PYTHONPATH", "").split(os.pathsep)[0] or "installed",
                "commit": commit.stdout.strip(),
                "requests": args.requests,
                "inflight": args.inflight,
                "repeats": args.repeats,
                "cpu_ms_per_request_median": round(statistics.median(cpu), 3),
                "cpu_ms_per_request": [round(c, 3) for c in cpu],
                "wall_ms_per_request_median": round(statistics.median(r["wall_ms_per_request"] for r in runs), 3),
                "threads_ms_per_request": [r["threads_ms_per_request"] for r in runs],
                "load_average": os.getloadavg()[0],
            }
        )
    )


if __name__ == "__main__":
    main()
