"""Shared helpers for the audit-ledger benchmarks: machine info, statistics, entries, backends, output.

Benchmarks are not tests: every script prints ONE JSON object to stdout and its progress to stderr.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import json
import math
import os
import platform
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
OUT = REPO / "bench" / "out"
PG_DSN = os.environ.get("FINPILOT_BENCH_DSN", "postgresql://postgres@127.0.0.1:5432/test")


def log(*parts: object) -> None:
    """Progress goes to stderr; stdout carries the one JSON object."""
    print(*parts, file=sys.stderr, flush=True)


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def loadavg() -> list[float] | None:
    """`uptime`'s 1/5/15-minute load averages: on 2 cores, anything well above the benchmark's own ~1-2
    means another job shared the machine."""
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return None


def machine() -> dict[str, Any]:
    info: dict[str, Any] = {
        "nproc": os.cpu_count(),
        "cpu_model": cpu_model(),
        "python": sys.version.split()[0],
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "sqlite": __import__("sqlite3").sqlite_version,
        "loadavg_1_5_15": loadavg(),
    }
    with contextlib.suppress(ValueError, OSError):
        info["mem_total_gib"] = round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1)
    try:
        import pymerkle

        info["pymerkle"] = getattr(pymerkle, "__version__", "7.x")
    except ImportError:
        pass
    return info


def source() -> dict[str, Any]:
    """Which finpilot code was measured: git HEAD, uncommitted finpilot/ files, and a digest of the sources."""
    import hashlib
    import subprocess

    def git(*cmd: str) -> str:
        try:
            out = subprocess.run(["git", *cmd], cwd=REPO, capture_output=True, text=True, check=False).stdout
            return out.rstrip("\n")  # not strip(): porcelain lines start with a status column that may be a space
        except OSError:
            return ""

    digest = hashlib.sha256()
    for path in sorted((REPO / "finpilot").rglob("*.py")):
        digest.update(str(path.relative_to(REPO)).encode() + b"\0" + path.read_bytes())
    audit = hashlib.sha256()
    for path in sorted((REPO / "finpilot" / "audit").rglob("*.py")):
        audit.update(str(path.relative_to(REPO)).encode() + b"\0" + path.read_bytes())
    dirty = [line[3:] for line in git("status", "--porcelain", "--", "finpilot").splitlines()]
    return {
        "git_head": git("rev-parse", "--short", "HEAD").strip(),
        "finpilot_uncommitted": dirty,
        "finpilot_sources_sha256": digest.hexdigest()[:16],
        "finpilot_audit_sha256": audit.hexdigest()[:16],
    }


def header(name: str, args: Any) -> dict[str, Any]:
    return {
        "benchmark": name,
        "date": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
        "args": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
        "machine": machine(),
        "source": source(),
    }


def emit(result: dict[str, Any]) -> None:
    json.dump(result, sys.stdout, indent=2, sort_keys=False, default=str)
    sys.stdout.write("\n")
    sys.stdout.flush()


def profile_top(prof: Any, top: int = 15) -> list[str]:
    """The ``top`` functions of a cProfile.Profile by own time, as pstats prints them (repo paths shortened)."""
    import io
    import pstats

    buf = io.StringIO()
    pstats.Stats(prof, stream=buf).sort_stats("tottime").print_stats(top)
    lines = [ln.rstrip() for ln in buf.getvalue().splitlines() if ln.strip()]
    start = next((i for i, ln in enumerate(lines) if ln.lstrip().startswith("ncalls")), 0)
    return [ln.replace(str(REPO) + "/", "") for ln in lines[start:]]


# ---------------------------------------------------------------------- statistics
def pct(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100)."""
    if not values:
        return float("nan")
    s = sorted(values)
    k = max(0, min(len(s) - 1, math.ceil(q / 100 * len(s)) - 1))
    return s[k]


def summary(values: Sequence[float], digits: int = 6) -> dict[str, Any]:
    return {
        "median": round(statistics.median(values), digits),
        "p99": round(pct(values, 99), digits),
        "min": round(min(values), digits),
        "max": round(max(values), digits),
        "n": len(values),
    }


def median(values: Sequence[float]) -> float:
    return statistics.median(values)


def target(value: float, goal: float, op: str, unit: str) -> dict[str, Any]:
    ok = value >= goal if op == ">=" else value <= goal if op == "<=" else value < goal
    return {"value": value, "target": f"{op} {goal:g} {unit}", "pass": bool(ok)}


# ---------------------------------------------------------------------- entries
def make_entries(n: int, start: int = 0) -> list[Any]:
    """Realistic deploy/approval entries (~230 bytes canonical), no personal data."""
    from finpilot.audit import Entry

    kinds = ("custom.deploy", "custom.approval", "custom.config", "custom.access")
    return [
        Entry(
            kind=kinds[i & 3],
            actor="pipeline:main" if i & 1 else "user:alice@example.com",
            action="promote",
            subject=f"service:payments@1.4.{i}",
            outcome="ok",
            evidence={"canary_p": 0.41, "build": i, "region": "eu-west-1", "ticket": f"CHG-{i % 9973}"},
        )
        for i in range(start, start + n)
    ]


def entry_iter(total: int, chunk: int) -> Iterator[list[Any]]:
    done = 0
    while done < total:
        k = min(chunk, total - done)
        yield make_entries(k, done)
        done += k


# ---------------------------------------------------------------------- backends
def settings_for(backend: str, data_dir: Path, schema: str | None = None, interval: float = 0.05) -> Any:
    from finpilot.core import Settings
    from finpilot.core._settings import AuditSettings, StorageSettings

    storage = StorageSettings(dsn=PG_DSN, schema_name=schema) if backend == "postgres" else StorageSettings()
    return Settings(
        data_dir=data_dir,
        storage=storage,
        audit=AuditSettings(checkpoint_interval_s=interval, max_batch=20000),
    )


def new_schema(tag: str) -> str:
    return f"bench_{tag}_{os.getpid()}_{uuid.uuid4().hex[:6]}"


def drop_schema(schema: str) -> None:
    import psycopg

    with psycopg.connect(PG_DSN, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


def pg_settings() -> dict[str, str]:
    import psycopg

    out = {}
    with psycopg.connect(PG_DSN, autocommit=True) as conn:
        for name in (
            "server_version",
            "fsync",
            "synchronous_commit",
            "wal_sync_method",
            "full_page_writes",
            "shared_buffers",
            "wal_level",
            "commit_delay",
        ):
            row = conn.execute(f"SHOW {name}").fetchone()
            out[name] = str(row[0] if row else None)
    return out


@contextmanager
def fresh_ledger(backend: str, tag: str, base: Path | None = None, interval: float = 0.05) -> Iterator[Any]:
    """A brand-new ledger in a temporary dir (and a fresh PostgreSQL schema); removed afterwards."""
    from finpilot.audit import open_ledger

    root = Path(tempfile.mkdtemp(prefix=f"fp-bench-{tag}-", dir=base or OUT / "tmp"))
    schema = new_schema(tag) if backend == "postgres" else None
    ledger = open_ledger(settings_for(backend, root, schema, interval))
    try:
        yield ledger
    finally:
        try:
            ledger.close()
        finally:
            shutil.rmtree(root, ignore_errors=True)
            if schema:
                drop_schema(schema)


def fsync_latency(directory: Path, writes: int = 300, size: int = 4096) -> dict[str, Any]:
    """os.fsync after a small append on the same filesystem (what a durable commit must pay)."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"fsync-probe-{os.getpid()}"
    samples = []
    blob = os.urandom(size)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    try:
        for _ in range(writes):
            os.write(fd, blob)
            t = time.perf_counter()
            os.fsync(fd)
            samples.append(time.perf_counter() - t)
    finally:
        os.close(fd)
        path.unlink(missing_ok=True)
    ms = [s * 1000 for s in samples]
    return {"fsync_ms": summary(ms, 4), "write_bytes": size, "writes": writes, "dir": str(directory)}


# ---------------------------------------------------------------------- persistent / built ledgers
def size_label(n: int) -> str:
    for div, suffix in ((1_000_000, "m"), (1_000, "k")):
        if n % div == 0:
            return f"{n // div}{suffix}"
    return str(n)


def build(ledger: Any, n: int, chunk: int = 20000, shape: str = "typical") -> dict[str, Any]:
    """Append n entries with append_many in chunks; return the sustained rate."""
    t0 = time.perf_counter()
    done = 0
    last_log = t0
    while done < n:
        k = min(chunk, n - done)
        ledger.append_many(make_entries(k, done) if shape == "typical" else make_small_entries(k, done))
        done += k
        now = time.perf_counter()
        if now - last_log > 10:
            log(f"  built {done:,}/{n:,} ({done / (now - t0):,.0f}/s)")
            last_log = now
    ledger.checkpoint()
    elapsed = time.perf_counter() - t0
    return {
        "entries": n,
        "seconds": round(elapsed, 2),
        "entries_per_s": round(n / elapsed),
        "note": "includes building the Entry objects (~2.6 us each)",
    }


def sqlite_ledger_dir(n: int) -> tuple[Path, dict[str, Any] | None]:
    """bench/out/ledger-<n>: built once, reused while its marker says it is complete."""
    from finpilot.audit import open_ledger

    path = OUT / f"ledger-{size_label(n)}"
    marker = path / "BUILT.json"
    if marker.exists():
        return path, {**json.loads(marker.read_text()), "reused_from_earlier_build": True}
    shutil.rmtree(path, ignore_errors=True)
    log(f"building SQLite ledger of {n:,} entries in {path} (once; reused afterwards)")
    with open_ledger(settings_for("sqlite", path)) as ledger:
        info = build(ledger, n)
    info["built_at"] = _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds")
    marker.write_text(json.dumps(info))
    log(f"  built: {info}")
    return path, info


def make_small_entries(n: int, start: int = 0) -> list[Any]:
    """The module docstring's example entry (~200 bytes, few digits): the lead's shape."""
    from finpilot.audit import Entry

    return [
        Entry(
            kind="custom.deploy",
            actor="pipeline:main",
            action="promote",
            subject=f"service:payments@1.4.{i}",
            outcome="ok",
            evidence={"canary_p": 0.41},
        )
        for i in range(start, start + n)
    ]


def pg_data_dir() -> str | None:
    import psycopg

    try:
        with psycopg.connect(PG_DSN, autocommit=True) as conn:
            row = conn.execute("SHOW data_directory").fetchone()
            return str(row[0]) if row else None
    except Exception:
        return None
