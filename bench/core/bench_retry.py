"""The retry helper's cost per call against stamina and tenacity: prints ONE JSON object.

Measures, per call, the success path (the function answers at once: what the PostgreSQL store's
reconnect retry and the traffic generator's resend pay on every statement and request), sync and
async, and one retry that sleeps zero seconds (the schedule's own cost, not the wait), plus each
library's import time in a fresh interpreter. stamina and tenacity are optional: without them
their figures are ``null``. Run (with them installed somewhere on ``PYTHONPATH``)::

    .venv/bin/python -m bench.core.bench_retry --rounds 5
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import json
import logging
import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from typing import Any

from finpilot.core import Backoff, Retry


class Flaky(Exception):
    """The error every retry here is on."""


def _per_call_us(fn: Callable[[], object], n: int) -> float:
    began = time.perf_counter()
    for _ in range(n):
        fn()
    return (time.perf_counter() - began) / n * 1e6


def _per_call_async_us(make: Callable[[], Awaitable[object]], n: int) -> float:
    async def run() -> float:
        began = time.perf_counter()
        for _ in range(n):
            await make()
        return (time.perf_counter() - began) / n * 1e6

    return asyncio.run(run())


def _fails_once() -> Callable[[], int]:
    state = {"n": 0}

    def fn() -> int:
        state["n"] += 1
        if state["n"] % 2:
            raise Flaky
        return 1

    return fn


def _no_sleep(_s: float) -> None:
    return None


def _cases() -> dict[str, dict[str, Callable[[int], float]]]:
    ok = int
    policy = Retry(attempts=3, backoff=Backoff(first_s=0.0))

    async def aok() -> int:
        return 1

    cases: dict[str, dict[str, Callable[[int], float]]] = {
        "bare": {
            "success_sync": lambda n: _per_call_us(ok, n),
            "success_async": lambda n: _per_call_async_us(aok, n),
        },
        "finpilot": {
            "success_sync": lambda n: _per_call_us(lambda: policy.call(ok, retry_on=(Flaky,)), n),
            "success_async": lambda n: _per_call_async_us(lambda: policy.acall(aok, retry_on=(Flaky,)), n),
            "one_retry_sync": lambda n: _per_call_us(
                functools.partial(policy.call, _fails_once(), retry_on=(Flaky,), sleep=_no_sleep), n
            ),
        },
    }
    try:
        import tenacity
    except ImportError:
        pass
    else:
        stop, retry = tenacity.stop_after_attempt(3), tenacity.retry_if_exception_type(Flaky)
        t_sync = tenacity.Retrying(stop=stop, retry=retry, wait=tenacity.wait_none(), reraise=True)
        t_async = tenacity.AsyncRetrying(stop=stop, retry=retry, wait=tenacity.wait_none(), reraise=True)
        t_retry = tenacity.Retrying(stop=stop, retry=retry, wait=tenacity.wait_none(), sleep=_no_sleep, reraise=True)
        cases["tenacity"] = {
            "success_sync": lambda n: _per_call_us(lambda: t_sync(ok), n),
            "success_async": lambda n: _per_call_async_us(lambda: t_async(aok), n),
            "one_retry_sync": lambda n: _per_call_us(functools.partial(t_retry, _fails_once()), n),
        }
    try:
        import stamina
    except ImportError:
        pass
    else:
        # stamina logs each retry at WARNING; keep the records (their cost is part of stamina's) off stderr.
        quiet = logging.getLogger("stamina")
        quiet.addHandler(logging.NullHandler())
        quiet.propagate = False
        s_ok = stamina.retry(on=Flaky, attempts=3)(ok)
        s_aok = stamina.retry(on=Flaky, attempts=3)(aok)

        def s_retry(n: int) -> float:
            # Test mode is stamina's only way not to sleep; it keeps the retry machinery (hooks included).
            stamina.set_testing(True, attempts=3)
            try:
                return _per_call_us(stamina.retry(on=Flaky, attempts=3)(_fails_once()), n)
            finally:
                stamina.set_testing(False)

        cases["stamina"] = {
            "success_sync": lambda n: _per_call_us(s_ok, n),
            "success_async": lambda n: _per_call_async_us(s_aok, n),
            "one_retry_sync": s_retry,
        }
    return cases


def _import_ms(module: str, rounds: int) -> float | None:
    code = f"import time; t = time.perf_counter(); import {module}; print(time.perf_counter() - t)"
    runs = []
    for _ in range(rounds):
        done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
        if done.returncode != 0:
            return None
        runs.append(float(done.stdout) * 1000)
    return round(statistics.median(runs), 1)


def main(argv: list[str] | None = None) -> int:
    """Measure and print the JSON report."""
    ap = argparse.ArgumentParser(prog="python -m bench.core.bench_retry")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--n", type=int, default=20_000, help="calls per round (async and retry paths: a quarter)")
    args = ap.parse_args(argv)
    cases = _cases()
    runs: dict[str, dict[str, list[float]]] = {lib: {path: [] for path in paths} for lib, paths in cases.items()}
    for _ in range(args.rounds):  # alternate the libraries within each round, so load drifts over all alike
        for lib, paths in cases.items():
            for path, measure in paths.items():
                runs[lib][path].append(measure(args.n if path == "success_sync" else args.n // 4))
    report: dict[str, Any] = {
        "benchmark": "retry helper overhead per call (µs, median of rounds)",
        "date": time.strftime("%Y-%m-%d"),
        "python": sys.version.split()[0],
        "rounds": args.rounds,
        "us_per_call": {
            lib: {path: round(statistics.median(values), 3) for path, values in paths.items()}
            for lib, paths in runs.items()
        },
        # finpilot.core._retry imports only the standard library (asyncio, random, time).
        "import_ms": {name: _import_ms(name, 3) for name in ("tenacity", "stamina")},
    }
    for lib in ("tenacity", "stamina"):
        import importlib.metadata as md

        try:
            report.setdefault("versions", {})[lib] = md.version(lib)
        except md.PackageNotFoundError:
            report.setdefault("versions", {})[lib] = None
    print(json.dumps(report, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
