"""Acceptance 2's setup under load: the payments app with in-process fraud scoring, traffic from a second process.

The server is built exactly as ``tests/fraud/test_acceptance_live.py`` builds it (SQLite payments
database, a SQLite audit ledger, a LightGBM model trained on 30 days of synthetic payments, the
fraud engine deciding in-process, freezes synced back) and served by uvicorn in a thread of this
process. ``finpilot traffic run`` drives it from a separate process at ``--rate`` for ``--seconds``.

The server's CPU per authorization is this process's CPU time (every thread: uvicorn, FastAPI,
SQLite, the fraud engine, the audit ledger's writer) between the first and the last decision,
divided by the decisions in between; the captures the generator sends (10 % of approvals) are
part of that cost, as in the test. It does not depend on how loaded the machine is, unlike the
rate. The served rate is decisions per second over the same span; past saturation it is the
server's ceiling.

Prints ONE JSON object on stdout; progress on stderr. Example:
    .venv/bin/python -m bench.fraud.bench_acceptance --rate 200 --seconds 20 --repeat 3
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import gc
import json
import os
import secrets
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

REPO = Path(__file__).resolve().parents[2]
PREFIX = os.environ.get("BENCH_GENERATOR_PREFIX", "").split()
"""Run the generator under this (a profiler, say): ``py-spy record -o gen.svg --``."""
sys.path.insert(0, str(REPO / "tests" / "fraud"))


def log(*parts: object) -> None:
    """Progress goes to stderr; stdout carries the one JSON object."""
    print(*parts, file=sys.stderr, flush=True)


def _model(root: Path) -> Path:
    from finpilot.fraud import generate_payments, read_payments, train_artifact

    csv_path = root / "payments.csv"
    generate_payments(csv_path, customers=100, terminals=200, days=30, seed=1)
    train_artifact(read_payments(csv_path)).save(root / "model")
    return root / "model"


class _Meter:
    """Wraps the decider: CPU time and wall time at each decision, to measure the steady state."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.lock = threading.Lock()
        self.count = 0
        self.first: tuple[float, float] | None = None
        self.last: tuple[float, float] = (0.0, 0.0)

    def __call__(self, payment: Any) -> Any:
        decision = self.inner(payment)
        stamp = (time.process_time(), time.perf_counter())
        with self.lock:
            self.count += 1
            if self.first is None:
                self.first = stamp
            self.last = stamp
        return decision


@contextlib.contextmanager
def serve_in_thread(app: Any, stack: str) -> Iterator[str]:
    """uvicorn in a thread on a free port with the given loop and HTTP parser (``h11`` or ``httptools``)."""
    import socket

    import uvicorn

    class _ThreadServer(uvicorn.Server):
        @contextlib.contextmanager
        def capture_signals(self) -> Iterator[None]:
            yield

    listener = socket.create_server(("127.0.0.1", 0), backlog=2048)
    sock = socket.socket(listener.family, listener.type, socket.IPPROTO_TCP, fileno=listener.detach())
    loop, http = ("asyncio", "h11") if stack == "h11" else ("uvloop", "httptools")
    config = uvicorn.Config(app, log_level="warning", access_log=False, loop=loop, http=http)
    server = _ThreadServer(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)
        sock.close()


def run_once(
    model: Path, rate: float, seconds: float, seed: int, work: Path, stack: str, *, settle: bool = True
) -> dict[str, Any]:
    """One server, one traffic run; the traffic report plus server CPU per decision."""
    from finpilot_payments import CallableDecider, NotFoundError, PaymentsSettings, create_app, settle_heap

    from finpilot.audit import open_ledger
    from finpilot.core import Settings
    from finpilot.fraud import (
        AccountSync,
        DecisionPolicy,
        FeatureEngine,
        FraudService,
        Scorer,
        Thresholds,
        load_artifact,
        payments_decider,
    )

    with open_ledger(Settings(data_dir=work / "fp")) as ledger:
        fraud = FraudService(
            Scorer(FeatureEngine(), load_artifact(model)),
            DecisionPolicy(Thresholds(review=0.5, decline=0.8, freeze=0.98)),
            ledger,
        )
        meter = _Meter(payments_decider(fraud))
        token = secrets.token_urlsafe(32)  # the payments API's bootstrap token, handed to the traffic by env
        payments_settings = PaymentsSettings(data_dir=work / "payments", bootstrap_token=token)
        app = create_app(payments_settings, decider=CallableDecider(meter))
        service = app.state.service

        def set_frozen(account_id: str, frozen: bool, key: str) -> None:
            with contextlib.suppress(NotFoundError):
                service.set_frozen(key, account_id, frozen=frozen)

        fraud.add_observer(AccountSync(set_frozen))
        if settle:
            settle_heap()  # as `python -m finpilot_payments` does before serving
        with serve_in_thread(app, stack) as url:
            argv = [*PREFIX, sys.executable, "-m", "finpilot.cli", "traffic", "run", "--url", url, "--json"]
            argv += ["--rate", str(rate), "--duration", str(seconds), "--seed", str(seed)]
            argv += ["--customers", "500", "--terminals", "1000"]
            before = os.getloadavg()[0]
            child = os.times()
            env = {**os.environ, "FINPILOT_PAYMENTS_TOKEN": token}  # `traffic run`'s default --token-env
            run = subprocess.run(argv, capture_output=True, text=True, timeout=900, check=False, env=env)
            child_cpu = (os.times().children_user - child.children_user) + (
                os.times().children_system - child.children_system
            )
            if run.returncode != 0:
                raise SystemExit(run.stderr[-3000:])
            report = json.loads(run.stdout[run.stdout.index("{") : run.stdout.rindex("}") + 1])
    assert meter.first is not None
    span_cpu = meter.last[0] - meter.first[0]
    span_wall = meter.last[1] - meter.first[1]
    decisions = max(1, meter.count - 1)
    return {
        "target_rate": rate,
        "achieved_rate": report["achieved_rate"],
        "served_rate": round(decisions / span_wall, 1),
        "server_cpu_ms_per_decision": round(1000 * span_cpu / decisions, 3),
        "server_cores": round(span_cpu / span_wall, 2),
        "generator_cpu_s_total": round(child_cpu, 1),
        "latency_ms": report["latency_ms"],
        "sent": report["sent"],
        "errors": report["errors"],
        "late_sends": report["late_sends"],
        "loadavg_before": round(before, 2),
        "loadavg_after": round(os.getloadavg()[0], 2),
    }


def main(argv: list[str] | None = None) -> int:
    """Parse, run the repeats, print the JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, default=200.0)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--seed", type=int, default=3)
    parser.add_argument("--no-settle", action="store_true", help="leave the heap unfrozen (the old behaviour)")
    parser.add_argument("--stack", choices=("h11", "httptools"), default="httptools", help="uvicorn's parser and loop")
    args = parser.parse_args(argv)
    runs = []
    with tempfile.TemporaryDirectory(prefix="bench-accept-") as tmp:
        model = _model(Path(tmp))
        for i in range(args.repeat):
            work = Path(tmp) / f"run{i}"
            result = run_once(model, args.rate, args.seconds, args.seed, work, args.stack, settle=not args.no_settle)
            gc.unfreeze()
            log(json.dumps(result))
            runs.append(result)
    summary = {
        key: statistics.median(run[key])
        for key in ("achieved_rate", "served_rate", "server_cpu_ms_per_decision", "server_cores")
        for run in [dict(zip(runs[0], [[r[k] for r in runs] for k in runs[0]], strict=True))]
    }
    out = {
        "bench": "fraud.acceptance",
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "cores": os.cpu_count(),
        "rate": args.rate,
        "seconds": args.seconds,
        "stack": args.stack,
        "settle_heap": not args.no_settle,
        "tree": str(REPO),
        "median": summary,
        "runs": runs,
    }
    print(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
