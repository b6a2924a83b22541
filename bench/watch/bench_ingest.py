"""Scrape + ingest throughput of the watch scraper, and query latency of the embedded store.

1. **Ingest**: ``--targets`` local exposition servers (one child process, a port each) serve
   ``--series`` samples each (counters and histogram buckets, as prometheus_client writes them).
   The scraper scrapes all of them back to back for ``--seconds`` into a fresh store on disk:
   samples stored per second, sustained, and the round time.
2. **Query**: a store holding 24 h at 15 s for a counter and a 12-bucket histogram over 4
   instances; the median (of ``--repeat``) of a 24 h range read at 15 s of one series, a 24 h
   ``rate``, a ``sum by`` of rates and a ``histogram_quantile``.

The server process and the scraper share this machine's cores, as they would in the demo stack.
Prints ONE JSON object on stdout; progress on stderr. Example:
    .venv/bin/python -m bench.watch.bench_ingest --targets 20 --series 500 --seconds 20 > bench/out/watch-ingest.json
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from bench.audit._common import log, machine, source

REPO = Path(__file__).resolve().parents[2]
T0 = 1_700_000_000.0


def exposition(series: int) -> bytes:
    """``series`` samples: a counter with route/status labels and histograms, in text format."""
    lines = ["# HELP bench_requests_total Requests.", "# TYPE bench_requests_total counter"]
    counters = series // 2
    for i in range(counters):
        lines.append(f'bench_requests_total{{route="/r{i % 25}",status="{200 + i // 25}"}} {i * 13.0}')
    lines += ["# HELP bench_seconds Latency.", "# TYPE bench_seconds histogram"]
    bounds = ["0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1.0", "2.5", "5.0", "10.0", "+Inf"]
    i = 0
    while counters + i < series:
        route = i // (len(bounds) + 2)
        k = i % (len(bounds) + 2)
        if k < len(bounds):
            lines.append(f'bench_seconds_bucket{{route="/r{route}",le="{bounds[k]}"}} {k * 10.0}')
        elif k == len(bounds):
            lines.append(f'bench_seconds_sum{{route="/r{route}"}} 12.5')
        else:
            lines.append(f'bench_seconds_count{{route="/r{route}"}} 110')
        i += 1
    return ("\n".join(lines) + "\n").encode()


def role_server(targets: int, series: int, port_file: Path) -> None:
    body = exposition(series)

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "text/plain; version=0.0.4")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            pass

    import threading

    servers = [ThreadingHTTPServer(("127.0.0.1", 0), Handler) for _ in range(targets)]
    for server in servers:
        threading.Thread(target=server.serve_forever, daemon=True).start()
    partial = port_file.with_suffix(".partial")
    partial.write_text(" ".join(str(s.server_port) for s in servers))
    partial.replace(port_file)
    threading.Event().wait()


def bench_ingest(args: argparse.Namespace, work: Path) -> dict[str, Any]:
    from finpilot.watch import MetricsStore, Scraper, ScrapeTarget

    port_file = work / "ports"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))}
    cmd = [sys.executable, "-m", "bench.watch.bench_ingest", "--role", "server", "--targets", str(args.targets)]
    proc = subprocess.Popen([*cmd, "--series", str(args.series), "--port-file", str(port_file)], env=env, cwd=REPO)
    try:
        deadline = time.monotonic() + 30
        while not port_file.exists():
            if time.monotonic() > deadline or proc.poll() is not None:
                raise RuntimeError("the exposition servers did not start")
            time.sleep(0.05)
        ports = port_file.read_text().split()
        store = MetricsStore(work / "ingest.db")
        targets = [ScrapeTarget(f"http://127.0.0.1:{p}/metrics", job="bench") for p in ports]
        scraper = Scraper(store, targets, interval_s=max(args.interval, 0.001), timeout_s=10)
        stored = scraped = 0
        rounds: list[float] = []
        down = 0
        began = time.perf_counter()
        while time.perf_counter() - began < args.seconds:
            t = time.perf_counter()
            for report in scraper.scrape_once():
                scraped += report.samples
                stored += report.write.accepted if report.write else 0
                down += not report.up
            rounds.append(time.perf_counter() - t)
            time.sleep(max(0.0, args.interval - (time.perf_counter() - t)))
        elapsed = time.perf_counter() - began
        scraper.stop()
        size = sum(p.stat().st_size for p in work.glob("ingest.db*"))
        store.close()
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    return {
        "targets": args.targets,
        "series_per_target": args.series,
        "rounds": len(rounds),
        "targets_down": down,
        "samples_scraped": scraped,
        "samples_stored": stored,
        "seconds": round(elapsed, 2),
        "stored_samples_per_s": round(stored / elapsed),
        "round_ms_median": round(statistics.median(rounds) * 1000, 1),
        "round_ms_max": round(max(rounds) * 1000, 1),
        "bytes_per_sample": round(size / max(stored, 1), 1),
    }


def bench_query(args: argparse.Namespace, work: Path) -> dict[str, Any]:
    from finpilot.watch import EmbeddedQuery, MetricsStore

    store = MetricsStore(work / "day.db", retention_s=10 * 86400, downsample_after_s=None)
    bounds = ["0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1.0", "2.5", "5.0", "10.0", "+Inf"]
    per_step = 86400 // 15 + 1
    began = time.perf_counter()
    for step in range(per_step):
        ts = round((T0 + step * 15) * 1000)
        rows: list[tuple[str, tuple[tuple[str, str], ...], float, int | None]] = []
        for inst in range(4):
            who = (("instance", f"i{inst}"), ("job", "bench"))
            rows.append(("req_total", who, step * 3.0 + inst, ts))
            for k, le in enumerate(bounds):
                rows.append(
                    ("lat_bucket", (("instance", f"i{inst}"), ("job", "bench"), ("le", le)), step * (k + 1.0), ts)
                )
        store.write(rows, scrape_time=T0 + 86400)
    fill_s = time.perf_counter() - began
    query = EmbeddedQuery(store)
    start, end = T0, T0 + 86400
    cases = {
        "range_1_series": lambda: query.range('req_total{instance="i0"}', start, end, 15),
        "rate_5m_4_series": lambda: query.rate("req_total", start, end, 15, 300),
        "sum_by_job_rate_5m": lambda: query.aggregate("sum", "req_total", start, end, 15, by=("job",), rate_window=300),
        "histogram_quantile_p99_48_series": lambda: query.histogram_quantile(0.99, "lat_bucket", start, end, 15, 300),
    }
    found: dict[str, Any] = {"fill_s": round(fill_s, 1), "samples": store.counts()["samples"], "steps": per_step}
    for name, run in cases.items():
        times = []
        for _ in range(args.repeat):
            t = time.perf_counter()
            result = run()
            times.append(time.perf_counter() - t)
        assert result, name
        assert len(result[0].points) >= per_step - 1, (name, len(result[0].points))  # rate: none at the first step
        found[name] = {"median_ms": round(statistics.median(times) * 1000, 1), "max_ms": round(max(times) * 1000, 1)}
        log(name, found[name])
    store.close()
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--role", choices=["bench", "server"], default="bench", help=argparse.SUPPRESS)
    parser.add_argument("--port-file", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--targets", type=int, default=20, help="Exposition servers to scrape.")
    parser.add_argument("--series", type=int, default=500, help="Samples each target exposes.")
    parser.add_argument("--seconds", type=float, default=20.0, help="How long to scrape.")
    parser.add_argument("--interval", type=float, default=0.0, help="Seconds between rounds (0: back to back).")
    parser.add_argument("--repeat", type=int, default=5, help="Repeats of each query (the median is kept).")
    parser.add_argument("--skip-query", action="store_true", help="Measure the ingest only.")
    args = parser.parse_args()
    if args.role == "server":
        role_server(args.targets, args.series, args.port_file)
        return
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        ingest = bench_ingest(args, work)
        log("ingest", ingest)
        query = None if args.skip_query else bench_query(args, work)
    params = {k: v for k, v in vars(args).items() if k not in ("role", "port_file")}
    print(
        json.dumps(
            {
                "benchmark": "watch-ingest",
                "machine": machine(),
                "source": source(),
                "params": params,
                "ingest": ingest,
                "query_24h_15s": query,
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
