"""Running a pipeline: steps in DAG order, independent ones concurrently (bounded), each in its own process.

A step runs without a shell, its output in ``logs/<step>.log``. A failed step marks every step
that needs it (directly or not) ``skipped`` and fails the run; steps that do not depend on it
still run. Timeouts kill the step's whole process group. The run record is saved at every
change and handed to ``on_change`` (the CLI's live table).
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path

from finpilot.core import Clock, FinpilotError, InputError, MonotonicClock, private_dir, private_file, rfc3339, utc_now
from finpilot.deliver._pipeline import _cache
from finpilot.deliver._pipeline._commands import builtin_artifacts, step_argv, substitute
from finpilot.deliver._pipeline._dag import ancestors, topological
from finpilot.deliver._pipeline._junit import parse_junit
from finpilot.deliver._pipeline._load import Pipeline
from finpilot.deliver._pipeline._record import (
    ArtifactRecord,
    RunRecord,
    StepRecord,
    new_run_id,
    private_dirs,
    save_run,
)
from finpilot.deliver._pipeline._spec import GateStep, RunStep, StepBase
from finpilot.deliver._release import file_digest

OnChange = Callable[[RunRecord], None]
"""Called with the run record after every change of state (from the scheduling thread)."""

_DONE_OK = ("passed", "cached")


class StepFailed(Exception):
    """A step failed for a reason other than its exit code (missing program, artifact, bad reference)."""


@dataclass
class _Run:
    pipeline: Pipeline
    data_dir: Path
    record: RunRecord
    release: str | None
    use_cache: bool
    env: dict[str, str]
    clock: Clock
    monotonic: MonotonicClock
    on_change: OnChange | None
    keys: dict[str, str | None] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def dir(self) -> Path:
        return self.data_dir / "pipelines" / "runs" / self.record.id

    def changed(self) -> None:
        with self.lock:
            save_run(self.data_dir, self.record)
            if self.on_change is not None:
                self.on_change(self.record)

    def resolve(self, step: str, artifact: str) -> str:
        matches = [a for a in self.record.step(step).artifacts if a.name == artifact]
        if len(matches) != 1:
            raise StepFailed(
                f"${{steps.{step}.artifacts.{artifact}}} matched {len(matches)} files; a reference needs exactly one"
            )
        return str(self.dir / matches[0].path)


def run_pipeline(
    pipeline: Pipeline,
    *,
    data_dir: Path,
    release: str | None = None,
    only: str | None = None,
    use_cache: bool = True,
    env: Mapping[str, str] | None = None,
    clock: Clock = utc_now,
    monotonic: MonotonicClock = time.monotonic,
    on_change: OnChange | None = None,
) -> RunRecord:
    """Run ``pipeline`` (or ``only`` one step and what it needs) and return its record; never raises for a failed step.

    ``env`` is the base environment of every step (default: this process's), to which each
    step's own ``env`` and ``FINPILOT_DATA_DIR``, ``FINPILOT_RUN_ID``, ``FINPILOT_RELEASE``
    are added, so the thin steps' finpilot commands write to the same data directory.
    """
    needs = pipeline.needs
    if only is not None and only not in needs:
        raise InputError(
            f"no step '{only}' in pipeline {pipeline.spec.name}", field="--only", fix=f"one of: {', '.join(needs)}"
        )
    chosen = set(needs) if only is None else {only, *ancestors(needs, only)}
    order = [s for s in topological(needs) if s in chosen]
    started = clock()
    record = RunRecord(
        id=new_run_id(started),
        pipeline=pipeline.spec.name,
        pipeline_file=str(pipeline.path),
        pipeline_digest=pipeline.digest,
        release=release,
        started_at=rfc3339(started),
        only=only,
        cache=use_cache,
        steps=[StepRecord(name=s, type=pipeline.spec.steps[s].type, needs=needs[s]) for s in order],
    )
    base = dict(os.environ if env is None else env)
    base.update({"FINPILOT_DATA_DIR": str(data_dir), "FINPILOT_RUN_ID": record.id})
    if release:
        base["FINPILOT_RELEASE"] = release
    run = _Run(pipeline, data_dir, record, release, use_cache, base, clock, monotonic, on_change)
    private_dirs(data_dir, run.dir.relative_to(data_dir) / "logs")
    private_dir(run.dir / "artifacts")
    t0 = monotonic()
    run.changed()
    _schedule(run, order)
    record.status = "passed" if all(s.status in _DONE_OK for s in record.steps) else "failed"
    record.duration_s = round(monotonic() - t0, 3)
    run.changed()
    return record


def _schedule(run: _Run, order: list[str]) -> None:
    record = run.record
    pending = list(order)
    active: dict[Future[None], str] = {}
    with ThreadPoolExecutor(max_workers=run.pipeline.spec.max_parallel, thread_name_prefix="pipeline") as pool:
        while pending or active:
            for name in list(pending):
                step = record.step(name)
                states = {n: record.step(n).status for n in step.needs}
                blocked = [n for n, s in states.items() if s in ("failed", "skipped")]
                if blocked:
                    pending.remove(name)
                    step.status, step.reason = "skipped", f"needs '{blocked[0]}', which {states[blocked[0]]}"
                    run.changed()
                elif all(s in _DONE_OK for s in states.values()) and len(active) < run.pipeline.spec.max_parallel:
                    pending.remove(name)
                    run.keys[name] = _key(run, name)
                    step.status, step.started_at = "running", rfc3339(run.clock())
                    run.changed()
                    active[pool.submit(_run_step, run, name)] = name
            if not active:
                continue
            done, _ = wait(active, return_when=FIRST_COMPLETED)
            for future in done:
                active.pop(future)
                future.result()  # _run_step records its own failures; anything else is a bug to surface
                run.changed()


def _key(run: _Run, name: str) -> str | None:
    if not run.use_cache:
        return None
    step = run.pipeline.spec.steps[name]
    needed = [run.keys.get(n) for n in step.needs]
    if any(k is None for k in needed):
        # Upstream of this step is not cacheable, so nothing proves this step's inputs are the same.
        return None
    return _cache.cache_key(step, root=run.pipeline.root, release=run.release, needed_keys=[k for k in needed if k])


def _run_step(run: _Run, name: str) -> None:
    step_def = run.pipeline.spec.steps[name]
    record = run.record.step(name)
    key = run.keys.get(name)
    record.cache_key = key
    log = private_file(run.dir / "logs" / f"{name}.log")
    record.log = f"logs/{name}.log"
    t0 = run.monotonic()
    if key is not None and _from_cache(run, record, key, log):
        record.duration_s = round(run.monotonic() - t0, 3)
        return
    try:
        argv = step_argv(step_def, release=run.release, resolve=run.resolve)
        record.argv = argv
        code = _execute(run, step_def, argv, log)
        record.exit_code = code
        if code != 0:
            raise StepFailed(f"exited with code {code}")
        _junit(run, step_def, record)
        record.artifacts = _collect(run, name, step_def)
        record.status = "passed"
    except (StepFailed, FinpilotError) as exc:
        reason = exc.message if isinstance(exc, FinpilotError) else str(exc)
        record.status, record.reason = "failed", reason
        with log.open("a", encoding="utf-8") as handle:
            handle.write(f"\n[finpilot] step failed: {reason}\n")
    record.duration_s = round(run.monotonic() - t0, 3)
    if record.status == "passed" and key is not None:
        outcome = {
            "exit_code": record.exit_code,
            "duration_s": record.duration_s,
            "artifacts": [a.model_dump() for a in record.artifacts],
            "junit": record.junit,
        }
        _cache.store(run.data_dir, key, run_id=run.record.id, step=name, outcome=outcome)


def _from_cache(run: _Run, record: StepRecord, key: str, log: Path) -> bool:
    hit = _cache.lookup(run.data_dir, key)
    if hit is None:
        return False
    artifacts = _cache.restore_artifacts(run.data_dir, hit, run.dir)
    if artifacts is None:
        return False
    record.status, record.exit_code = "cached", hit.get("exit_code")
    record.cached_from, record.artifacts, record.junit = str(hit["run_id"]), artifacts, hit.get("junit")
    log.write_text(f"[finpilot] cached: inputs unchanged since run {hit['run_id']} (cache key {key})\n")
    return True


def _execute(run: _Run, step: StepBase, argv: list[str], log: Path) -> int:
    env = {**run.env, **{name: substitute(value, run.resolve) for name, value in step.env.items()}}
    program = shutil.which(argv[0], path=env.get("PATH"))
    if program is None:
        raise StepFailed(f"program '{argv[0]}' not found on the step's PATH")
    cwd = run.pipeline.root / step.working_dir
    if not cwd.is_dir():
        raise StepFailed(f"working_dir '{step.working_dir}' is not a directory")
    with log.open("ab") as handle:
        # A new session: a timeout kills the step's whole process tree, not just its first process.
        proc = subprocess.Popen(  # argv from the pipeline file, no shell
            [program, *argv[1:]],
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=handle,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            return proc.wait(timeout=step.timeout_s)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            raise StepFailed(f"timed out after {step.timeout_s:g} s (process group killed)") from None


def _junit(run: _Run, step: StepBase, record: StepRecord) -> None:
    pattern = step.junit if isinstance(step, RunStep | GateStep) else None
    if pattern is None:
        return
    cwd = run.pipeline.root / step.working_dir
    files = _cache.glob_files(cwd, pattern)
    if not files:
        return  # parsed when present: a command that wrote none is judged by its exit code
    summary = parse_junit(files, relative_to=cwd)
    record.junit = summary.to_json()
    if summary.problems:
        raise StepFailed("; ".join(summary.problems))
    if summary.failures or summary.errors:
        raise StepFailed(f"JUnit: {summary.failures} failures, {summary.errors} errors in {summary.tests} tests")


def _collect(run: _Run, name: str, step: StepBase) -> list[ArtifactRecord]:
    cwd = run.pipeline.root / step.working_dir
    wanted = {**builtin_artifacts(step), **step.artifacts}
    records: list[ArtifactRecord] = []
    for artifact, pattern in wanted.items():
        files = _cache.glob_files(cwd, pattern)
        if not files:
            raise StepFailed(f"artifact '{artifact}' ({pattern}) matched no file")
        for path in files:
            relative = Path("artifacts") / name / path.relative_to(cwd)
            target = run.dir / relative
            private_dirs(run.dir, relative.parent)
            shutil.copyfile(path, target)
            target.chmod(0o600)
            records.append(
                ArtifactRecord(
                    name=artifact,
                    path=relative.as_posix(),
                    size=target.stat().st_size,
                    digest=file_digest(target),
                )
            )
    return records
