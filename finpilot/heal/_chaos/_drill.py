"""``finpilot chaos drill``: run the fault suite against the demo stack under payment traffic and measure it.

For each fault (see :mod:`finpilot.heal._chaos._faults`) the drill starts payment traffic through
the payments router (:mod:`finpilot.heal._chaos._traffic`), runs its trials one after another,
and stops the traffic. Faults that a runtime survives share one stack; a fault that leaves the
runtime unable to repeat it (``node-down``: a dead node agent is not restarted) gets a fresh
stack per trial, in the same scratch directory, ledger and payments database. ``db-primary-down``
(:mod:`finpilot.heal._chaos._db`) gets a stack of its own whose payments write to a scratch
PostgreSQL HA pair watched by the database healer; where PostgreSQL's binaries are missing it is
reported as skipped, with the reason, and the rest of the drill runs.

Every figure comes from a record, not from the drill's own clock:

* detection and recovery times from the audit ledger's entry timestamps
  (``chaos.inject`` -> first detection entry -> ``heal.recovered``);
* failed requests from the traffic generator's record of every request;
* lost and duplicated payments from the payments database (:mod:`finpilot.heal._chaos._ledger`;
  for ``db-primary-down`` the PostgreSQL schema on the new primary);
* and at the end the audit ledger is verified (``Ledger.verify``) and must hold one
  ``chaos.inject`` entry per trial.

The stack is the built-in demo (:func:`~finpilot.heal.demo_runtime`) with one change:
``restart.reset_after_s`` is 0.5 s instead of 10 s, so that each crash trial, a second or two
after the last, is a first crash and not a crash loop with growing back-off (back-off has its
own tests).
"""

from __future__ import annotations

import contextlib
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from finpilot.audit import Entry, Ledger, open_ledger
from finpilot.audit.kinds import CHAOS_DRILL, CHAOS_INJECT
from finpilot.core import FinpilotError, InputError, RuntimeSettings, Settings, StorageError
from finpilot.heal._chaos._db import CLIENT_RETRY_S, DbPrimaryDown, DrillDbPair, db_runtime, pg_unavailable
from finpilot.heal._chaos._faults import (
    ACTOR,
    Fault,
    Injected,
    default_faults,
    ledger_entries,
    time_trial,
    wait_recovered,
)
from finpilot.heal._chaos._ledger import check_payments, check_payments_pg
from finpilot.heal._chaos._report import ChaosDrillReport, FaultResult
from finpilot.heal._chaos._traffic import TrafficRun
from finpilot.heal._db._cluster import PgCluster
from finpilot.heal._runtime._controller import Controller
from finpilot.heal._runtime._local import LocalRuntime, demo_payments_token, demo_runtime, mint_demo_payments_token

_WARMUP_S = 0.5
_GAP_S = 0.7  # after a recovery, past reset_after_s (0.5 s): the next crash is a first crash
_READY_TIMEOUT_S = 60.0
Progress = Callable[[str], None]


def drill_runtime(data_dir: Path) -> RuntimeSettings:
    """The demo stack as the drill runs it (``reset_after_s`` 0.5 s; see the module docstring)."""
    runtime = demo_runtime(data_dir)
    services = {}
    for name, spec in runtime.services.items():
        restart = spec.restart.model_copy(update={"reset_after_s": 0.5})
        services[name] = spec.model_copy(update={"restart": restart})
    return runtime.model_copy(update={"services": services})


def select_faults(names: Sequence[str] | None, registry: Mapping[str, Fault] | None = None) -> list[Fault]:
    """The faults named (all of ``registry`` by default), in the registry's order; unknown names are an error."""
    known = dict(registry if registry is not None else default_faults())
    if not names:
        return list(known.values())
    unknown = [n for n in names if n not in known]
    if unknown:
        raise InputError(f"unknown fault '{unknown[0]}'", field="faults", fix=f"choose from: {', '.join(known)}")
    return [fault for name, fault in known.items() if name in names]


class _Stack:
    """A running demo stack (a :class:`~finpilot.heal._chaos._faults.DrillStack`)."""

    def __init__(self, runtime: RuntimeSettings, work: Path, ledger: Ledger, db: PgCluster | None = None) -> None:
        self.local = LocalRuntime(runtime, work, ledger)
        self._ledger, self._work = ledger, work
        self.db_cluster = db
        """The PostgreSQL pair the payments replicas write to (``db-primary-down``), else None."""

    @property
    def controller(self) -> Controller:
        """The runtime's controller."""
        return self.local.controller

    @property
    def ledger(self) -> Ledger:
        """The drill's audit ledger."""
        return self._ledger

    @property
    def data_dir(self) -> Path:
        """The scratch data directory."""
        return self._work

    def __enter__(self) -> _Stack:
        mint_demo_payments_token(self._work)  # before the replicas start: they read it at spawn
        self.local.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self.local.__exit__(None, None, None)

    def wait_ready(self, timeout: float = _READY_TIMEOUT_S) -> tuple[str, int]:
        """Wait until every replica serves; return the payments router's address."""
        deadline = time.monotonic() + timeout
        while True:
            status = self.controller.status()
            services = status["services"]
            if all(s["ready"] >= s["replicas"] for s in services.values()):
                host, port = services["payments"]["router"]
                return str(host), int(port)
            if time.monotonic() > deadline:
                raise StorageError(
                    "the drill's stack did not become ready",
                    fix=f"see the runtime logs under {self.controller.state_dir / 'logs'}",
                )
            time.sleep(0.05)


@contextlib.contextmanager
def _traffic(
    stack: _Stack, rate: float, run: str, work: Path, result: FaultResult, retry_s: float = 0.0
) -> Iterator[TrafficRun]:
    address = stack.wait_ready()
    out, token = work / "traffic" / f"{run}.jsonl", Path(str(demo_payments_token(stack.data_dir).file))
    traffic = TrafficRun(address, rate=rate, run=run, out=out, retry_s=retry_s, token_file=token)
    traffic.out.parent.mkdir(parents=True, exist_ok=True)
    traffic.start()
    try:
        time.sleep(_WARMUP_S)
        yield traffic
        time.sleep(_WARMUP_S)
    except BaseException:
        traffic.kill()
        raise
    result.records.extend(traffic.stop())
    result.traffic_s += traffic.elapsed


@dataclass(frozen=True)
class _Trial:
    # The ledger window [start_size, end_size) holds the trial's injection and everything it caused.
    fault: Fault
    injected: Injected
    start_size: int
    end_size: int
    recovered: bool


def _one_trial(fault: Fault, stack: _Stack, ledger: Ledger, trial: int) -> _Trial:
    stack.wait_ready()
    size = ledger.size
    injected = fault.inject(stack, trial)
    recovered = True
    if injected.awaits:
        recovered = wait_recovered(fault, injected, ledger, size, fault.timeout_s)
    else:
        time.sleep(injected.hold_s)
        fault.undo(stack, injected)
    end = ledger.size
    time.sleep(_GAP_S)
    return _Trial(fault, injected, size, end, recovered)


def _time(result: FaultResult, ledger: Ledger, trials: list[_Trial]) -> None:
    # After the traffic stopped: the database fault's timing also reads the traffic record.
    for t in trials:
        result.attempted += 1
        entries = ledger_entries(ledger, t.start_size, t.end_size)
        # The trial's window starts at the ledger's size just before the injection: its first
        # chaos.inject entry is the injection (a latency trial's second one is its undo).
        first = next((i for i, e in enumerate(entries) if e["kind"] == CHAOS_INJECT.name), None)
        if first is None:
            result.notes.append(f"trial without its chaos.inject entry in the ledger ({t.injected.target})")
            continue
        if isinstance(t.fault, DbPrimaryDown):
            timing = t.fault.timing(t.injected, entries[first:], result.records)
        else:
            timing = time_trial(t.fault, t.injected, entries[first:])
        if not t.recovered:
            timing.recovered = False
        result.timings.append(timing)


def run_chaos_drill(
    *,
    faults: Sequence[str] | None = None,
    trials: int | None = None,
    rate: float = 150.0,
    scratch: Path | None = None,
    keep: bool = False,
    registry: Mapping[str, Fault] | None = None,
    progress: Progress | None = None,
    audit: Callable[[Entry], object] | None = None,
    actor: str = ACTOR,
) -> ChaosDrillReport:
    """Run the drill (see the module docstring) and return its report.

    ``trials`` overrides every fault's default; ``scratch`` is the directory for the stack's
    state, ledger and payments database (a temporary one, removed afterwards unless ``keep``,
    by default). ``audit`` receives one ``chaos.drill`` entry with the summary.
    """
    if trials is not None and trials < 1:
        raise InputError("trials must be at least 1", field="trials", fix="pass --trials 1 or more")
    if rate <= 0 or rate > 1000:
        raise InputError("rate must be above 0 and at most 1000 requests/s", field="rate", fix="e.g. --rate 150")
    chosen = select_faults(faults, registry)
    say = progress or (lambda _msg: None)
    work = scratch if scratch is not None else Path(tempfile.mkdtemp(prefix="finpilot-chaos-drill-"))
    work.mkdir(parents=True, exist_ok=True)
    began = time.monotonic()
    report = ChaosDrillReport(rate=rate, scratch=str(work) if (keep or scratch is not None) else None)
    runtime = drill_runtime(work)
    report.stack = {
        "services": {n: s.replicas for n, s in runtime.services.items()},
        "nodes": [n.name for n in runtime.nodes],
        "restart.reset_after_s": 0.5,
        "probe": "http /healthz every 0.25 s, timeout 0.5 s, threshold 3",
        "heartbeat": f"{runtime.heartbeat_interval_s} s x {runtime.heartbeat_misses}",
    }
    ledger = open_ledger(Settings(data_dir=work))
    try:
        _run_faults(chosen, trials, rate, work, ledger, runtime, report, say)
        _finish(report, ledger, work)
    finally:
        ledger.close()
        if scratch is None and not keep:
            shutil.rmtree(work, ignore_errors=True)
    report.wall_s = time.monotonic() - began
    if audit is not None:
        outcome = "passed" if report.ok else "failed"
        evidence = report.audit_evidence()
        audit(
            CHAOS_DRILL.entry(actor=actor, action="drill", subject="runtime:demo", outcome=outcome, evidence=evidence)
        )
    return report


def _run_faults(
    chosen: list[Fault],
    trials: int | None,
    rate: float,
    work: Path,
    ledger: Ledger,
    runtime: RuntimeSettings,
    report: ChaosDrillReport,
    say: Progress,
) -> None:
    shared = [f for f in chosen if not f.fresh_stack and not _needs_db(f)]
    if shared:
        say(f"starting the demo stack for {', '.join(f.name for f in shared)}")
        with _Stack(runtime, work, ledger) as stack:
            for fault in shared:
                report.faults.append(_run_shared(fault, trials or fault.trials, stack, rate, work, ledger, say))
    for fault in chosen:
        if _needs_db(fault):
            result = _run_db(fault, trials or fault.trials, runtime, rate, work, ledger, report, say)
            report.faults.append(result)
            report.unbalanced += result.payments.unbalanced
            report.unbalanced_examples += [e for e in result.payments.examples if e.startswith("unbalanced")]
    for fault in chosen:
        if fault.fresh_stack and not _needs_db(fault):
            report.faults.append(_run_fresh(fault, trials or fault.trials, runtime, rate, work, ledger, say))


def _needs_db(fault: Fault) -> bool:
    # Optional on the Fault protocol: only a fault that sets it gets a PostgreSQL-backed stack.
    return bool(getattr(fault, "needs_db", False))


def _run_db(
    fault: Fault,
    n: int,
    runtime: RuntimeSettings,
    rate: float,
    work: Path,
    ledger: Ledger,
    report: ChaosDrillReport,
    say: Progress,
) -> FaultResult:
    result = FaultResult(fault.name, fresh_stack=False, heals=fault.heals, storage="postgresql")
    reason = pg_unavailable()
    if reason is not None:
        result.skipped = reason
        say(f"{fault.name}: skipped ({reason})")
        return result
    say(f"{fault.name}: building a PostgreSQL pair and a demo stack writing to it")
    done: list[_Trial] = []
    keep = report.scratch is not None
    try:
        with DrillDbPair(ledger, keep=keep) as pair:
            assert pair.cluster is not None
            report.stack["db"] = pair.describe()
            stack = _Stack(db_runtime(runtime), work, ledger, db=pair.cluster)
            with stack, _traffic(stack, rate, fault.name, work, result, retry_s=CLIENT_RETRY_S):
                for trial in range(n):
                    done.append(_one_trial(fault, stack, ledger, trial))
                    say(f"{fault.name}: trial {trial + 1}/{n}" + ("" if done[-1].recovered else " NOT recovered"))
                    if not done[-1].recovered:
                        # Without a synchronous standby the next failover is refused anyway.
                        result.notes.append(f"stopped after trial {trial + 1} of {n}: it did not recover")
                        break
            _time(result, ledger, done)
            result.payments = check_payments_pg(pair.dsn, result.records)
    except FinpilotError as exc:
        # Recorded, not raised: the other faults' figures still come out, and this one fails.
        result.attempted = max(result.attempted, n)
        result.notes.append(f"error: {exc.message}" + (f" ({exc.fix})" if exc.fix else ""))
    return result


def _run_shared(
    fault: Fault, n: int, stack: _Stack, rate: float, work: Path, ledger: Ledger, say: Progress
) -> FaultResult:
    result = FaultResult(fault.name, fresh_stack=False, heals=fault.heals)
    done: list[_Trial] = []
    with _traffic(stack, rate, fault.name, work, result):
        for trial in range(n):
            done.append(_one_trial(fault, stack, ledger, trial))
            say(f"{fault.name}: trial {trial + 1}/{n}" + ("" if done[-1].recovered else " NOT recovered"))
    _time(result, ledger, done)
    result.payments = check_payments(work / "payments" / "payments.db", result.records)
    return result


def _run_fresh(
    fault: Fault, n: int, runtime: RuntimeSettings, rate: float, work: Path, ledger: Ledger, say: Progress
) -> FaultResult:
    result = FaultResult(fault.name, fresh_stack=True, heals=fault.heals)
    result.notes.append(
        "each trial on a fresh stack, so each starts with one replica per node "
        "(a node brought back comes back empty: replicas are not moved back)"
    )
    done: list[_Trial] = []
    for trial in range(n):
        say(f"{fault.name}: starting a fresh stack for trial {trial + 1}/{n}")
        with _Stack(runtime, work, ledger) as stack, _traffic(stack, rate, f"{fault.name}-{trial}", work, result):
            done.append(_one_trial(fault, stack, ledger, trial))
        say(f"{fault.name}: trial {trial + 1}/{n}" + ("" if done[-1].recovered else " NOT recovered"))
    _time(result, ledger, done)
    result.payments = check_payments(work / "payments" / "payments.db", result.records)
    return result


def _finish(report: ChaosDrillReport, ledger: Ledger, work: Path) -> None:
    if any(f.storage == "sqlite" and not f.skipped for f in report.faults):
        final = check_payments(work / "payments" / "payments.db", [])
        report.unbalanced += final.unbalanced
        report.unbalanced_examples += final.examples
    verified = ledger.verify()
    report.audit_entries = verified.entries
    report.audit_verified = verified.ok
    report.audit_problems = [str(p) for p in verified.problems[:5]]
    report.injections_audited = sum(len(f.timings) for f in report.faults)
