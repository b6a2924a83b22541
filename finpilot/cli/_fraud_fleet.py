"""N HTTP fraud scorers and their router as child processes of ``finpilot up``, restarted when they die.

Each scorer is ``finpilot fraud scorer --index i`` on a fixed loopback port, so a restarted one
comes back where the router expects it; the router (``finpilot fraud router``) holds a payment
whose scorer is down until it answers again. Processes rather than threads: one GIL per scorer
is the point. Their output goes to ``data_dir/fraud/logs/``.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import subprocess  # nosec B404 - our own CLI, argument lists only, never a shell
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from finpilot.cli._demo_runtime import free_port, local_url
from finpilot.core import InputError, Settings

_log = logging.getLogger("finpilot.fraud")

SCORE_PATH = "/api/v1/fraud/scores"
READY_TIMEOUT_S = 60.0
_POLL_S = 0.1


@dataclass
class _Child:
    name: str
    argv: list[str]
    port: int
    log: Path
    process: subprocess.Popen[bytes] | None = None
    restarts: int = 0
    handle: IO[bytes] | None = field(default=None, repr=False)


class ScorerFleet:
    """``scorers`` scorer processes and one router; :meth:`start` gives the router's base URL."""

    def __init__(
        self,
        settings: Settings,
        *,
        scorers: int,
        config: Path | None = None,
        router_port: int = 0,
        hold_s: float = 30.0,
    ) -> None:
        if settings.fraud.model_dir is None:
            raise InputError("the fraud scorers need a model", field="fraud.model_dir", fix="train one first")
        self.scorers = scorers
        host = "127.0.0.1"
        data_dir = settings.data_dir.resolve()
        logs = data_dir / "fraud" / "logs"
        logs.mkdir(parents=True, exist_ok=True)
        base = [sys.executable, "-m", "finpilot.cli"]
        if config is not None:
            base += ["--config", str(config.resolve())]
        base += ["--data-dir", str(data_dir), "fraud"]
        self.children: list[_Child] = []
        for i in range(scorers):
            port = free_port(host)
            argv = [*base, "scorer", "--index", str(i), "--scorers", str(scorers), "--port", str(port)]
            argv += ["--model-dir", str(Path(settings.fraud.model_dir).resolve())]
            self.children.append(_Child(f"scorer-{i}", argv, port, logs / f"scorer-{i}.log"))
        self.router_port = router_port or free_port(host)
        argv = [*base, "router", "--port", str(self.router_port), "--hold-s", str(hold_s)]
        for child in self.children:
            argv += ["--upstream", f"{host}:{child.port}"]
        self.children.append(_Child("router", argv, self.router_port, logs / "router.log"))
        self.url = local_url(host, self.router_port)
        self._stopping = threading.Event()
        self._lock = threading.Lock()
        self._watch: threading.Thread | None = None

    @property
    def scoring_url(self) -> str:
        """The full URL clients POST a payment to."""
        return self.url + SCORE_PATH

    def pids(self) -> dict[str, int]:
        """The live children's process ids by name (``scorer-0`` ..., ``router``)."""
        with self._lock:
            return {c.name: c.process.pid for c in self.children if c.process is not None}

    def _spawn(self, child: _Child) -> None:
        if child.handle is None:
            child.handle = child.log.open("ab")
        # Its own process group: Ctrl+C in the terminal reaches `up`, which stops them in order.
        child.process = subprocess.Popen(  # nosec B603 - argv built above from our own options
            child.argv, stdout=child.handle, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True
        )

    def start(self, timeout: float = READY_TIMEOUT_S) -> str:
        """Start every scorer, wait until each listens, start the router; its base URL."""
        with self._lock:
            for child in self.children[:-1]:
                self._spawn(child)
        self._wait_listening(self.children[:-1], timeout)
        with self._lock:
            self._spawn(self.children[-1])
        self._wait_listening(self.children[-1:], timeout)
        self._watch = threading.Thread(target=self._supervise, name="fraud-fleet", daemon=True)
        self._watch.start()
        return self.url

    def _wait_listening(self, children: list[_Child], timeout: float) -> None:
        deadline = time.monotonic() + timeout
        waiting = list(children)
        while waiting:
            child = waiting[0]
            if child.process is not None and child.process.poll() is not None:
                raise InputError(
                    f"fraud {child.name} exited with status {child.process.returncode} while starting",
                    field="fraud.scorers",
                    fix=f"see {child.log}",
                )
            try:
                socket.create_connection(("127.0.0.1", child.port), timeout=0.5).close()
                waiting.pop(0)
                continue
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise InputError(f"fraud {child.name} did not listen within {timeout:g} s", fix=f"see {child.log}")
            time.sleep(_POLL_S)

    def _supervise(self) -> None:
        while not self._stopping.wait(_POLL_S):
            with self._lock:
                for child in self.children:
                    if child.process is not None and child.process.poll() is not None and not self._stopping.is_set():
                        _log.warning("fraud %s exited (%s); restarting it", child.name, child.process.returncode)
                        child.restarts += 1
                        self._spawn(child)

    def kill(self, name: str) -> int:
        """SIGKILL child ``name`` (for drills and tests); its pid. The supervisor restarts it."""
        with self._lock:
            child = next(c for c in self.children if c.name == name)
            assert child.process is not None
            os.kill(child.process.pid, signal.SIGKILL)
            return child.process.pid

    def restarts(self) -> dict[str, int]:
        """How many times each child was restarted."""
        return {c.name: c.restarts for c in self.children}

    def stop(self, timeout: float = 20.0) -> None:
        """Stop the router first (no new payments), then the scorers (each snapshots); idempotent."""
        self._stopping.set()
        if self._watch is not None:
            self._watch.join(timeout=2)
        for group in (self.children[-1:], self.children[:-1]):
            for child in group:
                if child.process is not None and child.process.poll() is None:
                    child.process.send_signal(signal.SIGTERM)
            for child in group:
                if child.process is None:
                    continue
                try:
                    child.process.wait(timeout=timeout)
                except subprocess.TimeoutExpired:
                    child.process.kill()
                    child.process.wait()
                if child.handle is not None:
                    child.handle.close()
                    child.handle = None
