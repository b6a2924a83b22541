"""Query latency over 24 h at 15 s resolution: a real Prometheus (and the embedded store, when it is there).

The data: 24 h of 15 s scrapes (5,761 per series) of 50 series: 20 request counters
(``bench_requests_total``, 5 services x 4 instances), 10 queue-depth gauges and one latency
histogram per two services (10 ``le`` buckets each, 20 series). They are backfilled into a fresh
TSDB with ``promtool tsdb create-blocks-from openmetrics`` and Prometheus is started on it; then
each query is timed through :class:`finpilot.watch.PrometheusQuery` over the whole 24 h at a 15 s
step (median of ``--repeats`` after one warm-up), HTTP and JSON decoding included:

* ``range``: the 10 gauges' raw values;
* ``rate``: ``rate(bench_requests_total[1m])`` of the 20 counters;
* ``sum_by_rate``: ``sum by (service) (rate(bench_requests_total[1m]))``;
* ``histogram_quantile``: ``histogram_quantile(0.99, sum by (le, service) (rate(..._bucket[5m])))``.

``rate_split`` times the ``rate`` request alone (Prometheus and the transfer), then with JSON
decoding, so the client's share of the time shows.

``--backend embedded`` loads the same samples into a fresh :class:`finpilot.watch.MetricsStore`
(one ``write`` per scrape time, as the scraper writes; nothing downsampled) and times the same
calls through :class:`finpilot.watch.EmbeddedQuery`. With ``both``, ``embedded_over_prometheus``
is the ratio of the medians per call (above 1: the embedded store is slower).
Prints ONE JSON object on stdout, progress on stderr::

    .venv/bin/python -m bench.watch.bench_query > bench/out/watch-query.json
"""

from __future__ import annotations

import argparse
import contextlib
import math
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from bench.audit._common import emit, header, log
from finpilot.watch import EmbeddedQuery, MetricsQuery, MetricsStore, PrometheusQuery, Sample

T0 = 1_767_225_600.0  # 2026-01-01T00:00:00Z
STEP = 15.0
HOURS = 24
BOUNDS = ("0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1", "2.5", "+Inf")
SHARES = (0.02, 0.1, 0.4, 0.7, 0.9, 0.97, 0.99, 0.997, 0.999, 1.0)


def make_samples(hours: int) -> list[Sample]:
    """The 50 series, each one's samples in time order (series after series)."""
    n = int(hours * 3600 / STEP) + 1
    out: list[Sample] = []
    for s in range(5):
        for i in range(4):
            labels = {"service": f"s{s}", "instance": f"i{i}"}
            pace = 5.0 + 3 * s + i  # requests per second, with a daily swing
            total = 0.0
            for k in range(n):
                t = k * STEP
                total += STEP * pace * (1.0 + 0.5 * math.sin(2 * math.pi * t / 86_400))
                out.append(Sample("bench_requests_total", labels, T0 + t, round(total)))
    for s in range(5):
        for i in range(2):
            labels = {"service": f"s{s}", "instance": f"i{i}"}
            out.extend(
                Sample("bench_queue_depth", labels, T0 + k * STEP, float((k * (s + 1) + i) % 97)) for k in range(n)
            )
    for s in range(2):
        for le, share in zip(BOUNDS, SHARES, strict=True):
            labels = {"service": f"s{s}", "le": le}
            out.extend(
                Sample("bench_latency_seconds_bucket", labels, T0 + k * STEP, round(40.0 * (s + 1) * k * share))
                for k in range(n)
            )
    return out


def write_openmetrics(samples: list[Sample], path: Path) -> None:
    """OpenMetrics text, every family ``unknown`` so the names stay as given."""
    with path.open("w", encoding="utf-8") as out:
        current = ""
        for sample in samples:
            if sample.name != current:
                current = sample.name
                out.write(f"# TYPE {current} unknown\n")
            labels = ",".join(f'{k}="{v}"' for k, v in sorted(sample.labels.items()))
            out.write(f"{sample.name}{{{labels}}} {sample.value!r} {sample.timestamp!r}\n")
        out.write("# EOF\n")


@contextlib.contextmanager
def prometheus_on(tsdb: Path, work: Path, binary: str) -> Iterator[str]:
    """Prometheus serving ``tsdb`` on a free port (nothing scraped) until the block ends."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    config = work / "prometheus.yml"
    config.write_text("global:\n  scrape_interval: 15s\nscrape_configs: []\n", encoding="utf-8")
    log_file = (work / "prometheus.log").open("wb")
    process = subprocess.Popen(
        [
            binary,
            f"--config.file={config}",
            f"--storage.tsdb.path={tsdb}",
            "--storage.tsdb.retention.time=100y",
            f"--web.listen-address=127.0.0.1:{port}",
        ],
        stdout=log_file,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{url}/-/ready", timeout=2).status_code == 200:
                    break
            if process.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"prometheus did not become ready: see {work / 'prometheus.log'}")
            time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=30)
        log_file.close()


def queries(query: MetricsQuery, start: float, end: float) -> dict[str, Callable[[], int]]:
    """The timed calls; each returns how many points came back (so a wrong answer shows)."""

    def points(found: list[Any]) -> int:
        return sum(len(s.points) for s in found)

    return {
        "range": lambda: points(query.range("bench_queue_depth", start, end, STEP)),
        "rate": lambda: points(query.rate("bench_requests_total", start, end, STEP, 60.0)),
        "sum_by_rate": lambda: points(
            query.aggregate("sum", "bench_requests_total", start, end, STEP, by=("service",), rate_window=60.0)
        ),
        "histogram_quantile": lambda: points(
            query.histogram_quantile(0.99, "bench_latency_seconds_bucket", start, end, STEP, 300.0, by=("service",))
        ),
    }


def time_all(query: MetricsQuery, start: float, end: float, repeats: int) -> dict[str, Any]:
    """Median (and min/max) seconds per call over ``repeats``, after one warm-up each."""
    out: dict[str, Any] = {}
    for name, call in queries(query, start, end).items():
        n_points = call()
        times = []
        for _ in range(repeats):
            began = time.perf_counter()
            call()
            times.append(time.perf_counter() - began)
        out[name] = {
            "median_s": round(statistics.median(times), 4),
            "min_s": round(min(times), 4),
            "max_s": round(max(times), 4),
            "points": n_points,
        }
        log(f"  {name}: median {out[name]['median_s']} s, {n_points} points")
    return out


def split_rate(url: str, start: float, end: float, repeats: int) -> dict[str, float]:
    """Where ``rate``'s time goes: Prometheus and the transfer alone, then with JSON decoding (medians, s)."""
    form = {"query": "rate(bench_requests_total[60s])", "start": repr(start), "end": repr(end), "step": repr(STEP)}
    out: dict[str, float] = {}
    with httpx.Client(timeout=120) as client:
        steps: dict[str, Callable[[], object]] = {
            "http_only_s": lambda: client.post(f"{url}/api/v1/query_range", data=form).content,
            "http_and_json_s": lambda: client.post(f"{url}/api/v1/query_range", data=form).json(),
        }
        for name, call in steps.items():
            call()
            times = []
            for _ in range(repeats):
                began = time.perf_counter()
                call()
                times.append(time.perf_counter() - began)
            out[name] = round(statistics.median(times), 4)
    log(f"  rate split: {out}")
    return out


def embedded(samples: list[Sample], work: Path) -> tuple[MetricsQuery, MetricsStore, float]:
    """A fresh embedded store holding ``samples`` (one write per scrape time), its query, and the load time."""
    end = max(s.timestamp for s in samples)
    # The data lies at fixed 2026-01-01 times: the store's clock stands at its end, and nothing is
    # downsampled, so both backends serve the same raw 15 s samples.
    store = MetricsStore(work / "metrics.db", clock=lambda: end, downsample_after_s=None, retention_s=365 * 86400.0)
    by_time: dict[float, list[tuple[str, tuple[tuple[str, str], ...], float, int | None]]] = {}
    for s in samples:
        by_time.setdefault(s.timestamp, []).append((s.name, tuple(sorted(s.labels.items())), s.value, None))
    began = time.perf_counter()
    for t in sorted(by_time):
        # One write per scrape time, the way the scraper writes: stamped with the scrape time.
        store.write(by_time[t], scrape_time=t)
    return EmbeddedQuery(store), store, round(time.perf_counter() - began, 2)


def main() -> None:
    """Run the benchmark and print its JSON."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--backend", choices=["prometheus", "embedded", "both"], default="both")
    parser.add_argument("--hours", type=int, default=HOURS, help="hours of 15 s samples (24 for the figure)")
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--prometheus", default="/usr/bin/prometheus")
    parser.add_argument("--promtool", default="/usr/bin/promtool")
    args = parser.parse_args()
    result = header("watch-query", args)
    samples = make_samples(args.hours)
    start, end = T0, T0 + args.hours * 3600
    result["data"] = {
        "series": len({(s.name, tuple(sorted(s.labels.items()))) for s in samples}),
        "samples": len(samples),
        "step_s": STEP,
        "range_s": end - start,
    }
    log(f"{result['data']['series']} series, {len(samples)} samples over {args.hours} h")
    with tempfile.TemporaryDirectory(prefix="bench-watch-query-") as tmp:
        work = Path(tmp)
        if args.backend in ("prometheus", "both"):
            source = work / "samples.om"
            write_openmetrics(samples, source)
            began = time.perf_counter()
            subprocess.run(
                [
                    args.promtool,
                    "tsdb",
                    "create-blocks-from",
                    "openmetrics",
                    "--quiet",
                    str(source),
                    str(work / "tsdb"),
                ],
                check=True,
                timeout=1800,
            )
            backfill_s = round(time.perf_counter() - began, 2)
            log(f"promtool backfill: {backfill_s} s")
            with prometheus_on(work / "tsdb", work, args.prometheus) as url, PrometheusQuery(url, timeout=120) as q:
                version = httpx.get(f"{url}/api/v1/status/buildinfo", timeout=5).json()["data"]["version"]
                result["prometheus"] = {
                    "version": version,
                    "backfill_s": backfill_s,
                    **time_all(q, start, end, args.repeats),
                    "rate_split": split_rate(url, start, end, args.repeats),
                }
        if args.backend in ("embedded", "both"):
            query, store, load_s = embedded(samples, work)
            log(f"embedded load: {load_s} s")
            try:
                result["embedded"] = {"load_s": load_s, **time_all(query, start, end, args.repeats)}
            finally:
                store.close()
        if "prometheus" in result and "embedded" in result:
            result["embedded_over_prometheus"] = {
                name: round(result["embedded"][name]["median_s"] / result["prometheus"][name]["median_s"], 2)
                for name in result["embedded"]
                if name in result["prometheus"] and isinstance(result["embedded"][name], dict)
            }
    emit(result)


if __name__ == "__main__":
    main()
