"""Helpers shared by the console tests (a uniquely named module: conftest.py cannot be imported)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

import finpilot
from finpilot.audit import Ledger

__all__ = [
    "MakeToken",
    "ServerProcess",
    "TestClient",
    "bearer",
    "console_entries",
    "need",
    "refusals",
    "running_server",
    "sample_entry",
]

SOURCE_ROOT = Path(finpilot.__file__).resolve().parent.parent
SERVE_MAIN = Path(__file__).with_name("serve_main.py")

MakeToken = Callable[..., str]
"""The ``make_token`` fixture: ``make_token(role, name=None) -> token text``."""


def need(reason: str) -> None:
    """Fail under CI, skip elsewhere (the rule ``tests/conftest.py`` applies to PostgreSQL)."""
    if os.environ.get("CI"):
        pytest.fail(f"{reason} (CI is set, so this is a failure, not a skip)")
    pytest.skip(reason)


def sample_entry(**overrides: Any) -> dict[str, Any]:
    """A valid body for ``POST /api/v1/audit/entries`` (no actor: the API records the caller's token)."""
    body: dict[str, Any] = {
        "kind": "custom.deploy",
        "action": "promote",
        "subject": "service:payments@1.4.2",
        "outcome": "ok",
        "evidence": {"canary_p": 0.41},
    }
    body.update(overrides)
    return body


def bearer(token: str) -> dict[str, str]:
    """The Authorization header for a token."""
    return {"Authorization": f"Bearer {token}"}


def console_entries(ledger: Ledger, kind: str = "console.request") -> list[dict[str, Any]]:
    """The fields of every entry of ``kind``, oldest first."""
    size = ledger.size
    if size == 0:
        return []
    return [e.fields for e in reversed(ledger.tail(size)) if e.fields["kind"] == kind]


def refusals(app: Any, ledger: Ledger) -> list[dict[str, Any]]:
    """Close every open refusal window, as the console does at shutdown; the ``console.refusals`` entries."""
    app.state.console.refusals.flush(everything=True)
    return console_entries(ledger, "console.refusals")


@dataclass
class ServerProcess:
    """A console served by ``serve_main.py`` in a child process."""

    url: str
    process: subprocess.Popen[bytes]
    log: Path

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 30) -> str:
        """Send ``sig``, wait for the exit, and return everything the process wrote."""
        self.process.send_signal(sig)
        self.process.wait(timeout=timeout)
        return self.log.read_text()


@contextmanager
def running_server(
    data_dir: Path,
    work: Path,
    *,
    start_timeout: float = 60,
    model_dir: Path | None = None,
    trusted_proxies: tuple[str, ...] = (),
) -> Iterator[ServerProcess]:
    """Start the console on a free port over ``data_dir``; kill it on the way out if still running.

    With ``model_dir`` it serves the fraud service too, restoring its state as ``finpilot up`` does;
    ``trusted_proxies`` are the addresses whose ``X-Forwarded-For`` it believes.
    """
    url_file = work / "server.url"
    log = work / "server.log"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(SOURCE_ROOT), os.environ.get("PYTHONPATH")]))}
    with (
        log.open("wb") as sink,
        subprocess.Popen(
            [
                sys.executable,
                str(SERVE_MAIN),
                str(data_dir),
                str(url_file),
                *(["--model-dir", str(model_dir)] if model_dir else []),
                *(arg for proxy in trusted_proxies for arg in ("--trusted-proxy", proxy)),
            ],
            stdout=sink,
            stderr=subprocess.STDOUT,
            env=env,
        ) as process,
    ):
        try:
            deadline = time.monotonic() + start_timeout
            while not url_file.exists():
                if process.poll() is not None:
                    pytest.fail(f"the console exited with {process.returncode} before it was ready:\n{log.read_text()}")
                if time.monotonic() > deadline:
                    pytest.fail(f"the console was not ready within {start_timeout}s:\n{log.read_text()}")
                time.sleep(0.05)
            yield ServerProcess(url=url_file.read_text(), process=process, log=log)
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
