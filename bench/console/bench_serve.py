"""The console's keep-alive latency: ``GET /healthz`` closed loop on one connection to a served console.

The claim measured here was once a test's (``tests/console/test_console_serve.py``): keep-alive
requests answer at once. Before the listener was marked TCP, asyncio left Nagle's algorithm on,
and a response written in two parts waited ~40 ms for the client's delayed ACK, so the median sat
near 40 ms. The target is a median under 35 ms; a healthy server answers in a few ms. (On the
code of 2026-12-06, a listener left unmarked measured a 5.1 ms median against 1.6 ms marked: no
longer a 40 ms stall, but still 3x; the test of ``tcp_nodelay`` holds the marking itself.)

The console runs as its own process (``finpilot.console.serve`` on a free port over a fresh data
directory, as ``finpilot up`` serves it); this process is the client (httpx, one keep-alive
connection, one request at a time), so the two do not share an interpreter.

Prints ONE JSON object on stdout; progress on stderr. Example:
    .venv/bin/python -m bench.console.bench_serve --n 2000 --repeat 3 > bench/out/console-serve.json
"""

from __future__ import annotations

import argparse
import os
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

REPO = Path(__file__).resolve().parents[2]
TARGET_P50_MS = 35.0


def role_server(data_dir: Path, url_file: Path) -> None:
    """Serve the console on a free port until SIGTERM; write its URL to ``url_file`` once it accepts."""
    from finpilot.audit import open_ledger
    from finpilot.console import open_token_store, serve
    from finpilot.core import ConsoleSettings, Settings

    settings = Settings(data_dir=data_dir, console=ConsoleSettings(port=0))

    def on_ready(url: str) -> None:
        partial = url_file.with_suffix(".partial")
        partial.write_text(url)
        partial.replace(url_file)  # the client never reads half a URL

    with open_ledger(settings) as ledger, open_token_store(settings) as tokens:
        serve(settings, ledger, tokens, on_ready=on_ready)


def _start_server(work: Path) -> tuple[subprocess.Popen[bytes], str]:
    url_file = work / "server.url"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))}
    proc = subprocess.Popen(
        [sys.executable, "-m", "bench.console.bench_serve", "--role", "server", "--work", str(work)],
        cwd=REPO,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=(work / "server.log").open("wb"),
    )
    deadline = time.monotonic() + 120
    while not url_file.exists():  # polled: the server writes the file once it accepts connections
        if proc.poll() is not None:
            raise SystemExit(f"the console exited with {proc.returncode}: {(work / 'server.log').read_text()}")
        if time.monotonic() > deadline:
            proc.kill()
            raise SystemExit("the console did not start within 120 s")
        time.sleep(0.05)
    return proc, url_file.read_text()


def one_repeat(url: str, n: int, warmup: int) -> list[float]:
    """``n`` timed keep-alive requests (ms) after ``warmup`` untimed ones, on one connection."""
    import httpx

    took: list[float] = []
    with httpx.Client(base_url=url, timeout=30) as client:
        for _ in range(warmup):
            client.get("/healthz").raise_for_status()
        for _ in range(n):
            started = time.perf_counter()
            response = client.get("/healthz")
            took.append((time.perf_counter() - started) * 1000)
            response.raise_for_status()
    return took


def main() -> None:
    """Run the benchmark (or, with ``--role server``, be the console it measures)."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    ap.add_argument("--n", type=int, default=2000, help="timed requests per repeat")
    ap.add_argument("--warmup", type=int, default=200, help="untimed requests before each repeat")
    ap.add_argument("--repeat", type=int, default=3, help="repeats, each on a fresh connection")
    ap.add_argument("--role", choices=("bench", "server"), default="bench", help=argparse.SUPPRESS)
    ap.add_argument("--work", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.role == "server":
        role_server(args.work / "data", args.work / "server.url")
        return

    result = header("console_serve_keepalive", args)
    loads = [loadavg()]
    with tempfile.TemporaryDirectory(prefix="finpilot-bench-console-") as tmp:
        work = Path(tmp)
        server, url = _start_server(work)
        try:
            repeats = []
            for rep in range(args.repeat):
                took = one_repeat(url, args.n, args.warmup)
                row = {
                    "p50_ms": round(statistics.median(took), 3),
                    "p90_ms": round(pct(took, 90), 3),
                    "p99_ms": round(pct(took, 99), 3),
                    "max_ms": round(max(took), 3),
                    "over_35ms": sum(1 for t in took if t >= TARGET_P50_MS),
                    "n": len(took),
                }
                log(f"repeat {rep + 1}/{args.repeat}: {row}")
                repeats.append(row)
                loads.append(loadavg())
        finally:
            server.terminate()
            server.wait(30)
    p50 = statistics.median(r["p50_ms"] for r in repeats)
    summary: dict[str, Any] = {
        "p50_ms": round(p50, 3),
        "p99_ms": round(statistics.median(r["p99_ms"] for r in repeats), 3),
    }
    result.update(
        repeats=repeats,
        summary=summary,
        loadavg_during=loads,
        targets={"keepalive_p50": target(summary["p50_ms"], TARGET_P50_MS, "<", "ms")},
    )
    emit(result)


if __name__ == "__main__":
    main()
