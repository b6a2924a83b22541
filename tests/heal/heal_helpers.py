"""Helpers for the real-process runtime tests: a running controller, a load generator, waits."""

from __future__ import annotations

import http.client
import json
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from finpilot.audit import Ledger, open_ledger
from finpilot.core import RuntimeSettings, Settings
from finpilot.heal._runtime._controller import Controller

PRIVATE_PUBLIC_POOLS = {
    "private": {"classifications": ["pci", "pii", "public"]},
    "public": {"classifications": ["public"]},
}


def payments_service(data_dir: Path, **overrides: Any) -> dict[str, Any]:
    """The reference payments service as a spec: replicas share one SQLite database."""
    spec: dict[str, Any] = {
        "module": "finpilot_payments",
        "args": ["--port", "{port}", "--data-dir", str(data_dir)],
        "replicas": 2,
        "classification": "pci",
        "probes": {
            # Timeouts allow for a loaded 2-core machine; detection still takes well under 3 s.
            "liveness": {"http": "/healthz", "interval_s": 0.25, "timeout_s": 0.5, "failure_threshold": 3},
            "readiness": {"http": "/healthz", "interval_s": 0.25, "timeout_s": 0.5, "failure_threshold": 3},
        },
        # Chaos trials kill the same replica every second or so: a short healthy period keeps
        # each trial a first crash instead of a crash loop (back-off is tested on its own).
        "restart": {"backoff_initial_s": 0, "reset_after_s": 0.5},
        "router": {"port": 0},
    }
    spec.update(overrides)
    return spec


@contextmanager
def running(tmp: Path, runtime: dict[str, Any]) -> Iterator[tuple[Controller, Ledger]]:
    """A started controller with a real audit ledger; everything is stopped afterwards."""
    settings = Settings(data_dir=tmp / "state")
    ledger = open_ledger(settings)
    controller = Controller(
        RuntimeSettings.model_validate(runtime), state_dir=tmp / "state" / "runtime", audit=ledger.append
    )
    controller.start()
    try:
        yield controller, ledger
    finally:
        controller.stop()
        ledger.close()


def wait_for(check: Callable[[], Any], timeout: float, step: float = 0.02) -> Any:
    """Poll ``check`` until it returns something truthy; fail with the last value after ``timeout``."""
    deadline = time.monotonic() + timeout
    value = check()
    while not value:
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout} s (last: {value!r})")
        time.sleep(step)
        value = check()
    return value


def all_ready(controller: Controller, service: str, count: int) -> Callable[[], bool]:
    """A check: ``count`` replicas of ``service`` are ready."""
    return lambda: controller.status()["services"][service]["ready"] >= count


def routed(controller: Controller, service: str) -> int:
    """Requests the service's router has sent to replicas so far (retries included): proof that load flows."""
    return int(controller._routers[service].stats()["requests"])


def slot_replica(controller: Controller, slot: str) -> dict[str, Any] | None:
    """The serving replica of a slot, as status shows it."""
    for iid, view in controller.status()["replicas"].items():
        if view["slot"] == slot and view["role"] == "serving":
            return {"id": iid, **view}
    return None


def serves(port: int, path: str = "/healthz") -> bool:
    """Whether a replica answers 200 on its own port right now."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=0.5)
    try:
        conn.request("GET", path)
        return conn.getresponse().status == 200
    except (OSError, http.client.HTTPException):
        return False
    finally:
        conn.close()


def serves_through(host: str, port: int, path: str = "/healthz") -> bool:
    """Whether a GET through a router answers 200."""
    conn = http.client.HTTPConnection(host, port, timeout=5)
    try:
        conn.request("GET", path)
        return conn.getresponse().status == 200
    finally:
        conn.close()


class Load:
    """GET traffic at ``rate`` requests/s through a router, from a separate process; counts failed requests."""

    def __init__(self, address: tuple[str, int], *, rate: float = 200, path: str = "/healthz") -> None:
        self._argv = [
            sys.executable,
            str(Path(__file__).with_name("load_client.py")),
            address[0],
            str(address[1]),
            str(rate),
            path,
        ]
        self._proc: subprocess.Popen[str] | None = None
        self.ok = 0
        self.failures: list[str] = []
        self.seconds = 0.0

    def __enter__(self) -> Load:
        self._proc = subprocess.Popen(self._argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        assert self._proc.stdout is not None
        assert self._proc.stdout.readline().strip() == "started"
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._proc is not None
        out, _ = self._proc.communicate("", timeout=30)
        summary = json.loads(out)
        self.ok, self.failures, self.seconds = summary["ok"], summary["failures"], summary["seconds"]

    @property
    def rate(self) -> float:
        """Achieved requests per second."""
        return (self.ok + len(self.failures)) / self.seconds


def quantiles(values: list[float]) -> dict[str, float]:
    """p50 and p95 (inclusive method), rounded to ms."""
    cuts = statistics.quantiles(values, n=20, method="inclusive")
    return {"p50": round(statistics.median(values), 3), "p95": round(cuts[18], 3), "max": round(max(values), 3)}


def entries(ledger: Ledger, kind: str | None = None) -> list[dict[str, Any]]:
    """Every audit entry (oldest first), optionally of one kind."""
    found = [e.fields for e in reversed(ledger.tail(10_000))] if ledger.size else []
    return [f for f in found if kind is None or f["kind"] == kind]
