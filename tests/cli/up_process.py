"""``finpilot up`` as a real subprocess for the demo tests: start it, read its URLs, stop it with SIGTERM."""

from __future__ import annotations

import queue
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from cli_helpers import finpilot_argv, subprocess_env

# Start-up trains a model (about 3 s alone) and starts node agents and replicas; on a loaded
# 2-core machine imports alone can take 15 s.
STARTUP_TIMEOUT_S = 120


@dataclass
class UpProcess:
    """A running ``finpilot up``: its process, URLs, and (after it stopped) exit status and stderr."""

    proc: subprocess.Popen[str]
    data_dir: Path
    console: str = ""
    fraud_scoring: str = ""
    payments: str = ""
    admin_token: str = ""
    returncode: int | None = None
    stderr: str = ""
    seen: list[str] = field(default_factory=list)


def _lines(stream: object, sink: queue.Queue[str]) -> None:
    for line in stream:  # type: ignore[attr-defined]
        sink.put(line)


def _collect(stream: object, into: list[str]) -> None:
    # Read as it comes: a pipe nobody reads holds 64 KiB, and then up would block on its next log line.
    for line in stream:  # type: ignore[attr-defined]
        into.append(line)


def _wait_for(sink: queue.Queue[str], prefix: str, seen: list[str]) -> str:
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while time.monotonic() < deadline:
        try:
            line = sink.get(timeout=0.2)
        except queue.Empty:
            continue
        seen.append(line)
        if line.startswith(prefix):
            return line.split(": ", 1)[-1].strip()
    raise AssertionError(f"no line starting with {prefix!r} within {STARTUP_TIMEOUT_S}s; got {seen}")


@contextmanager
def running_up(tmp_path: Path, *args: str) -> Iterator[UpProcess]:
    """Run ``finpilot --data-dir TMP/data up --port 0 ARGS``; SIGTERM on exit, then ``returncode`` and ``stderr``."""
    data_dir, home = tmp_path / "data", tmp_path / "home"
    home.mkdir()
    argv = [*finpilot_argv(), "--data-dir", str(data_dir), "up", "--port", "0", *args]
    proc = subprocess.Popen(
        argv, cwd=tmp_path, env=subprocess_env(home), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    sink: queue.Queue[str] = queue.Queue()
    reader = threading.Thread(target=_lines, args=(proc.stdout, sink), daemon=True)
    reader.start()
    errors: list[str] = []
    err_reader = threading.Thread(target=_collect, args=(proc.stderr, errors), daemon=True)
    err_reader.start()
    up = UpProcess(proc=proc, data_dir=data_dir)
    try:
        try:
            up.console = _wait_for(sink, "finpilot console: ", up.seen)
            up.fraud_scoring = _wait_for(sink, "fraud scoring: ", up.seen)
            up.payments = _wait_for(sink, "payments service: ", up.seen)
            _wait_for(sink, "log in with this demo admin token:", up.seen)
        except AssertionError as exc:
            # A start that never finished: say what up wrote to stderr meanwhile.
            tail = "".join(errors)[-4000:]
            raise AssertionError(f"{exc}; up's stderr so far (its last 4000 characters): {tail!r}") from None
        up.admin_token = sink.get(timeout=STARTUP_TIMEOUT_S).strip()
        yield up
        proc.send_signal(signal.SIGTERM)
        up.returncode = proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)
        reader.join(timeout=10)
        err_reader.join(timeout=10)
        assert proc.stdout is not None
        assert proc.stderr is not None
        up.stderr = "".join(errors)
        proc.stdout.close()
        proc.stderr.close()


def env_for(tmp_path: Path) -> dict[str, str]:
    """The environment ``running_up`` gives ``up``, for another command against it."""
    return subprocess_env(tmp_path / "home")
