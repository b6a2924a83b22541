"""The console's Alerts page and alert API: time per request with many alerts and silences.

A real console (SQLite ledger and token store in a temporary directory) over a real alert
manager holding ``--alerts`` firing alerts (a third critical, a third warning, a third info),
``--silences`` active silences and the delivery log; requests go in process through Starlette's
TestClient, so the times are the app's (routing, auth, the manager's reads, JSON or template and
SVG), not a network's.

Prints ONE JSON object on stdout. Example:
    .venv/bin/python -m bench.watch.bench_alerts_page --alerts 300 --silences 20 --rounds 20
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from finpilot.audit import open_ledger
from finpilot.console import create_app, open_token_store
from finpilot.core import FakeClock, Settings
from finpilot.watch import AlertManager, AlertStore, Route, Signal

SEVERITIES = ("critical", "warning", "info")

NOW = 1_700_000_000.0


def _signals(alerts: int) -> list[Signal]:
    return [
        Signal(
            rule="QueueDeep",
            kind="metric",
            labels={"alertname": "QueueDeep", "severity": SEVERITIES[i % 3], "replica": f"payments/{i}"},
            annotations={"summary": f"queue deep on payments/{i}"},
            series=f'queue_depth{{replica="payments/{i}"}}',
            window_start=NOW - 300,
            window_end=NOW,
            value=40.0 + i,
            threshold=10.0,
        )
        for i in range(alerts)
    ]


def _time(client: TestClient, path: str, headers: dict[str, str], rounds: int) -> dict[str, float]:
    took = []
    for _ in range(rounds):
        start = time.perf_counter()
        answer = client.get(path, headers=headers)
        took.append((time.perf_counter() - start) * 1000)
        if answer.status_code != 200:
            raise SystemExit(f"{path} answered {answer.status_code}: {answer.text[:200]}")
    return {"median_ms": round(statistics.median(took), 2), "max_ms": round(max(took), 2), "bytes": len(answer.content)}


def run(alerts: int, silences: int, rounds: int) -> dict[str, Any]:
    """Build the console and manager, then time each read."""
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(data_dir=Path(tmp) / "data")
        clock = FakeClock()
        clock.advance(NOW - clock().timestamp())
        with open_ledger(settings) as ledger, open_token_store(settings) as tokens:
            manager = AlertManager(
                AlertStore(Path(tmp) / "alerts.sqlite"),
                sinks={},
                routes=[Route((), (), ("alertname",), 0, 300, 3600)],
                clock=clock,
                # No audit here: this measures reads, and one of these fingerprints (payments/117's,
                # 965072556170720d) starts with 15 digits that the ledger takes for a card number.
                record=None,
            )
            manager.observe("QueueDeep", _signals(alerts))
            manager.tick()
            for i in range(silences):
                manager.add_silence([f"replica=payments/{i}"], created_by="cli:bench", comment="bench", duration_s=3600)
            _info, token = tokens.create("bench-viewer", "viewer")
            app = create_app(settings, ledger, tokens, clock=clock, alerts=manager)
            headers = {"Authorization": f"Bearer {token}"}
            with TestClient(app, base_url="http://testserver") as client:
                result = {
                    "alerts": alerts,
                    "silences": silences,
                    "rounds": rounds,
                    "api_alerts": _time(client, "/api/v1/watch/alerts", headers, rounds),
                    "api_silences": _time(client, "/api/v1/watch/silences", headers, rounds),
                    "api_notifications": _time(client, "/api/v1/watch/notifications?limit=50", headers, rounds),
                    "page": _time(client, "/watch/alerts", headers, rounds),
                }
            manager.close()
    return result


def main() -> None:
    """Parse the arguments, run, print one JSON object."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--alerts", type=int, default=300)
    parser.add_argument("--silences", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=20)
    args = parser.parse_args()
    print(json.dumps(run(args.alerts, args.silences, args.rounds)))


if __name__ == "__main__":
    main()
