"""The alert manager's cost per evaluation and per tick, and the time from a signal to a real webhook.

Three measurements, on a temporary SQLite store (the one the manager uses in production):

- ``observe``: one evaluation of a rule that sees ``--alerts`` breaching series (the dedup path:
  every alert already exists and is refreshed), ms per evaluation and µs per alert;
- ``tick``: one tick with those alerts firing in ``--groups`` groups, nothing due (the steady
  state between notifications), ms per tick;
- ``signal_to_webhook``: a new alert, ``group_wait`` 0, one tick, delivered to a real local HTTP
  receiver (the webhook sink, signed), ms from the signal to the receiver having the body.

Prints ONE JSON object on stdout. Example:
    .venv/bin/python -m bench.watch.bench_alerts --alerts 500 --groups 20 --rounds 5
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from finpilot.core import FakeClock
from finpilot.watch import AlertManager, AlertStore, Route, Signal, WebhookSink


def _signals(alerts: int, groups: int) -> list[Signal]:
    return [
        Signal(
            rule="HighLatency",
            kind="metric",
            labels={"alertname": "HighLatency", "severity": "warning", "group": f"g{i % groups}", "replica": f"r{i}"},
            annotations={"summary": "slow"},
            series=f'latency_seconds{{replica="r{i}"}}',
            window_start=0.0,
            window_end=0.0,
            value=0.9,
            threshold=0.5,
        )
        for i in range(alerts)
    ]


def _steady(root: Path, alerts: int, groups: int, rounds: int) -> dict[str, Any]:
    clock = FakeClock()
    manager = AlertManager(
        AlertStore(root / "steady.sqlite"),
        sinks={},
        routes=[Route((), (), ("alertname", "group"), 0, 300, 3600)],
        clock=clock,
    )
    signals = _signals(alerts, groups)
    manager.observe("HighLatency", signals)
    manager.tick()
    observe_ms, tick_ms = [], []
    for _ in range(rounds):
        clock.advance(15)
        start = time.perf_counter()
        manager.observe("HighLatency", signals)
        observe_ms.append((time.perf_counter() - start) * 1000)
        start = time.perf_counter()
        manager.tick()
        tick_ms.append((time.perf_counter() - start) * 1000)
    manager.close()
    observe = statistics.median(observe_ms)
    return {
        "observe_ms": round(observe, 2),
        "observe_us_per_alert": round(observe * 1000 / alerts, 1),
        "tick_ms": round(statistics.median(tick_ms), 2),
    }


def _webhook(root: Path, rounds: int) -> dict[str, Any]:
    arrived = threading.Event()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length", "0")))
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()
            arrived.set()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/hook"
    times = []
    try:
        for n in range(rounds):
            sink = WebhookSink("hook", url, secret=b"bench-secret")
            manager = AlertManager(
                AlertStore(root / f"hook-{n}.sqlite"),
                sinks={"hook": sink},
                routes=[Route((), ("hook",), ("alertname",), 0, 300, 3600)],
            )
            arrived.clear()
            start = time.perf_counter()
            manager.observe("HighLatency", _signals(1, 1))
            manager.tick()
            arrived.wait(10)
            times.append((time.perf_counter() - start) * 1000)
            manager.close()
    finally:
        server.shutdown()
        server.server_close()
    return {"signal_to_webhook_ms": round(statistics.median(times), 2)}


def main() -> None:
    """Run the measurements and print one JSON object."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--alerts", type=int, default=500)
    parser.add_argument("--groups", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        result: dict[str, Any] = {"alerts": args.alerts, "groups": args.groups, "rounds": args.rounds}
        result |= _steady(root, args.alerts, args.groups, args.rounds)
        result |= _webhook(root, args.rounds)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
