"""A real Prometheus for tests: started on a free port with a temp TSDB, backfilled with promtool.

Debian's ``prometheus`` and ``promtool`` are required: a test that needs them FAILS when they are
missing (``scripts/test.sh`` installs them), it never skips.
"""

from __future__ import annotations

import contextlib
import math
import os
import shutil
import socket
import subprocess
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import TypeVar

import httpx
import pytest

from finpilot.watch import Sample

PROMETHEUS = os.environ.get("FINPILOT_TEST_PROMETHEUS", "/usr/bin/prometheus")
PROMTOOL = os.environ.get("FINPILOT_TEST_PROMTOOL", "/usr/bin/promtool")

T = TypeVar("T")


def need_binary(path: str) -> str:
    """``path`` when it is an executable; otherwise the test fails (never skips) saying how to install it."""
    if not (Path(path).is_file() and shutil.which(path)):
        pytest.fail(
            f"{path} is missing: apt-get install prometheus (scripts/test.sh does), "
            "or set FINPILOT_TEST_PROMETHEUS / FINPILOT_TEST_PROMTOOL"
        )
    return path


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def scrape_config(targets: Iterable[str], *, interval: str = "1s") -> str:
    """A Prometheus config scraping ``host:port`` targets every ``interval`` (job ``test``)."""
    listed = ", ".join(f"'{t}'" for t in targets)
    return (
        f"global:\n  scrape_interval: {interval}\n  evaluation_interval: {interval}\n"
        f"scrape_configs:\n  - job_name: test\n    static_configs:\n      - targets: [{listed}]\n"
    )


@contextlib.contextmanager
def running_prometheus(workdir: Path, config: str, *, tsdb: Path | None = None) -> Iterator[str]:
    """Run Prometheus with ``config`` on a free port until the block ends; its base URL once ready."""
    binary = need_binary(PROMETHEUS)
    workdir.mkdir(parents=True, exist_ok=True)
    config_path = workdir / "prometheus.yml"
    config_path.write_text(config, encoding="utf-8")
    port = free_port()
    log = (workdir / "prometheus.log").open("wb")
    process = subprocess.Popen(
        [
            binary,
            f"--config.file={config_path}",
            f"--storage.tsdb.path={tsdb or workdir / 'tsdb'}",
            # Backfilled blocks hold fixed 2026 times: a long retention keeps them whatever today is.
            "--storage.tsdb.retention.time=100y",
            f"--web.listen-address=127.0.0.1:{port}",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_ready(url, process, workdir / "prometheus.log")
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=20)
        log.close()


def _wait_ready(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            tail = log.read_text(errors="replace")[-3000:]
            raise AssertionError(f"prometheus exited with {process.returncode}:\n{tail}")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"{url}/-/ready", timeout=2).status_code == 200:
                return
        time.sleep(0.1)
    raise AssertionError(f"prometheus at {url} was not ready in 60 s:\n{log.read_text(errors='replace')[-3000:]}")


def wait_for(probe: Callable[[], T], ok: Callable[[T], bool], *, timeout: float = 30.0, what: str = "") -> T:
    """Call ``probe`` until ``ok`` holds for its answer (every 0.2 s); fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if ok(value):
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what or 'a condition'}: last {value!r}")
        time.sleep(0.2)


def _value(v: float) -> str:
    if math.isnan(v):
        return "NaN"
    if math.isinf(v):
        return "+Inf" if v > 0 else "-Inf"
    return repr(v)


def _label_value(v: str) -> str:
    return v.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def write_openmetrics(samples: Iterable[Sample], path: Path) -> None:
    """``samples`` as OpenMetrics text (every family typed ``unknown``, so names stay as given)."""
    by_name: dict[str, list[Sample]] = {}
    for sample in samples:
        by_name.setdefault(sample.name, []).append(sample)
    lines: list[str] = []
    for name, group in by_name.items():
        lines.append(f"# TYPE {name} unknown")
        for s in group:
            labels = ",".join(f'{k}="{_label_value(v)}"' for k, v in sorted(s.labels.items()))
            lines.append(f"{name}{{{labels}}} {_value(s.value)} {s.timestamp!r}")
    lines.append("# EOF")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def backfill(samples: Iterable[Sample], tsdb: Path, workdir: Path) -> None:
    """Write ``samples`` into a fresh TSDB at ``tsdb`` with ``promtool tsdb create-blocks-from openmetrics``."""
    promtool = need_binary(PROMTOOL)
    source = workdir / "samples.om"
    write_openmetrics(samples, source)
    tsdb.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(
        # promtool 2.42 cuts 2 h blocks (it has no --max-block-duration yet); Prometheus reads them all.
        [promtool, "tsdb", "create-blocks-from", "openmetrics", "--quiet", str(source), str(tsdb)],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    if done.returncode != 0:
        raise AssertionError(f"promtool failed ({done.returncode}): {done.stderr[-3000:]}")
