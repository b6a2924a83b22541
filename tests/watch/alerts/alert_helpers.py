"""Helpers for the alert tests: a fake clock, an in-memory MetricsQuery, a recording sink and a real HTTP receiver."""

from __future__ import annotations

import contextlib
import json
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import httpx
import pytest

from finpilot.core import FakeClock
from finpilot.watch import (
    AlertManager,
    AlertStore,
    InhibitRule,
    Notification,
    Route,
    Series,
    SinkDeliveryError,
)


class MemoryMetrics:
    """Our own MetricsQuery over a dict of series, enough for rule tests: raw values with the look-back."""

    def __init__(self) -> None:
        self.points: dict[tuple[str, tuple[tuple[str, str], ...]], list[tuple[float, float]]] = {}

    def add(self, name: str, labels: Mapping[str, str], t: float, value: float) -> None:
        self.points.setdefault((name, tuple(sorted(labels.items()))), []).append((t, value))

    def describe(self) -> str:
        return "memory:"

    def _matching(self, selector: str) -> list[tuple[str, dict[str, str], list[tuple[float, float]]]]:
        name = selector.split("{", maxsplit=1)[0]
        wanted: dict[str, str] = {}
        if "{" in selector:
            for part in selector.split("{", 1)[1].rstrip("}").split(","):
                if part.strip():
                    key, _, value = part.partition("=")
                    wanted[key.strip()] = value.strip().strip('"')
        return [
            (n, dict(labels), pts)
            for (n, labels), pts in self.points.items()
            if n == name and all(dict(labels).get(k) == v for k, v in wanted.items())
        ]

    def series(self, selector: str, start: float, end: float) -> list[Series]:
        return [Series(n, labels) for n, labels, _ in self._matching(selector)]

    def range(self, selector: str, start: float, end: float, step: float) -> list[Series]:
        found = []
        for name, labels, pts in self._matching(selector):
            out = []
            t = start
            while t <= end:
                before = [v for ts, v in pts if t - 300 <= ts <= t]
                if before:
                    out.append((t, before[-1]))
                t += step
            if out:
                found.append(Series(name, labels, tuple(out)))
        return found

    def rate(self, selector: str, start: float, end: float, step: float, window: float) -> list[Series]:
        raise NotImplementedError

    def aggregate(
        self,
        op: str,
        selector: str,
        start: float,
        end: float,
        step: float,
        by: Sequence[str] = (),
        rate_window: float | None = None,
    ) -> list[Series]:
        groups: dict[tuple[tuple[str, str], ...], list[float]] = {}
        for s in self.range(selector, start, end, step):
            key = tuple((k, s.labels[k]) for k in by if k in s.labels)
            groups.setdefault(key, []).append(s.points[-1][1])
        fn = {"max": max, "min": min, "sum": sum, "avg": lambda v: sum(v) / len(v), "count": len}[op]
        return [Series(selector.split("{", maxsplit=1)[0], dict(k), ((end, float(fn(v))),)) for k, v in groups.items()]

    def histogram_quantile(
        self,
        q: float,
        selector: str,
        start: float,
        end: float,
        step: float,
        window: float,
        by: Sequence[str] = (),
    ) -> list[Series]:
        raise NotImplementedError


@dataclass
class RecordingSink:
    """Our own Sink: keeps what it is given, and fails while ``failing`` is set."""

    type: ClassVar[str] = "webhook"
    name: str = "rec"
    attempts: int = 2
    failing: bool = False
    got: list[Notification] = field(default_factory=list)
    tries: int = 0

    def send(self, notification: Notification) -> int:
        self.tries += 1
        if self.failing:
            raise SinkDeliveryError("receiver down", status_code=503)
        self.got.append(notification)
        return 200


def make_manager(
    path: Path,
    clock: FakeClock,
    sink: RecordingSink,
    entries: list[Any],
    *,
    group_by: tuple[str, ...] = ("alertname",),
    wait: float = 30,
    interval: float = 300,
    repeat: float = 3600,
    inhibit: Sequence[InhibitRule] = (),
) -> AlertManager:
    route = Route((), (sink.name,), group_by, wait, interval, repeat)
    return AlertManager(
        AlertStore(path / "alerts.sqlite"),
        sinks={sink.name: sink},
        routes=[route],
        inhibit=inhibit,
        clock=clock,
        record=entries.append,
        sleep=lambda _s: None,
    )


@dataclass
class Received:
    """One request the receiver got."""

    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


class Receiver:
    """A real local HTTP server that records every POST and answers ``status``."""

    def __init__(self) -> None:
        self.got: list[Received] = []
        self.status = 200
        self.arrived = threading.Event()
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                owner.got.append(Received(self.path, dict(self.headers.items()), body))
                self.send_response(owner.status)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")
                owner.arrived.set()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"


ALERTMANAGER = "/usr/bin/prometheus-alertmanager"
"""Debian's Alertmanager, which scripts/test.sh installs."""


@contextlib.contextmanager
def running_alertmanager(config_text: str, tmp_path: Path) -> Iterator[str]:
    """A real, ready Alertmanager running ``config_text`` on a free port; yields its URL (fails without it)."""
    binary = shutil.which(ALERTMANAGER) or shutil.which("prometheus-alertmanager") or shutil.which("alertmanager")
    if binary is None:
        pytest.fail(f"{ALERTMANAGER} is not installed (apt-get install prometheus-alertmanager; scripts/test.sh does)")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = int(sock.getsockname()[1])
    config = tmp_path / "alertmanager.yml"
    config.write_text(config_text)
    log_path = tmp_path / "alertmanager.log"
    with log_path.open("w") as log:
        process = subprocess.Popen(
            [
                binary,
                f"--config.file={config}",
                f"--storage.path={tmp_path / 'am-data'}",
                f"--web.listen-address=127.0.0.1:{port}",
                "--cluster.listen-address=",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 30
            while True:
                with contextlib.suppress(httpx.HTTPError):
                    if httpx.get(f"{url}/-/ready", timeout=1).status_code == 200:
                        break
                if process.poll() is not None or time.monotonic() > deadline:
                    pytest.fail("Alertmanager did not start: " + log_path.read_text()[-2000:])
                time.sleep(0.1)
            yield url
        finally:
            process.terminate()
            process.wait(timeout=10)
