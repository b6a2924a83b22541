"""A small all-threads sampling profiler for ``bench_http --profile`` (py-spy is not installed here).

Usage: ``python _sampling_profiler.py OUT.json SCRIPT ARGS...`` runs SCRIPT (e.g. the ``finpilot``
console script) in this process; SIGUSR1 restarts the counts (sent once the server is up). A daemon
thread samples every thread's Python stack every ``INTERVAL_S`` with ``sys._current_frames()``, and
reads each thread's CPU time from /proc/self/task now and then. On exit it writes OUT.json: CPU
seconds per thread group, and per group the functions most often on the stack while working
(inclusive) and at its top (self).

Python-level samples cannot tell a thread running from one blocked in C (fsync, select, a lock):
the per-thread CPU times are the honest split, the stacks say what each group was doing.
"""

from __future__ import annotations

import collections
import json
import os
import re
import runpy
import signal
import sys
import threading
from pathlib import Path
from typing import Any

INTERVAL_S = 0.002
CPU_EVERY = 100  # samples between reads of /proc/self/task (threads come and go: keep each one's last value)
# A thread whose innermost Python frame is one of these is parked, not working.
WAITING = ("threading.py:wait", "queue.py:get", "selectors.py:select", "thread.py:_worker")
_TICK = os.sysconf("SC_CLK_TCK")


def _group(name: str) -> str:
    # Thread pools number their threads; one group per pool.
    return re.sub(r"[\s_-]*\d+$", "", re.sub(r"\s*\(.*\)$", "", name)) or name


def _task_cpu() -> dict[int, float]:
    out = {}
    for task in Path("/proc/self/task").iterdir():
        try:
            fields = (task / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        out[int(task.name)] = (int(fields[11]) + int(fields[12])) / _TICK
    return out


def _where(code: Any) -> str:
    path = code.co_filename
    for marker in ("site-packages/", "/finpilot/", "/lib/python3"):
        if marker in path:
            path = path.split(marker, 1)[1]
            break
    return f"{path}:{code.co_name}"


class Sampler:
    """Samples all threads' stacks until stopped."""

    def __init__(self) -> None:
        self.inclusive: dict[str, collections.Counter[str]] = collections.defaultdict(collections.Counter)
        self.own: dict[str, collections.Counter[str]] = collections.defaultdict(collections.Counter)
        self.busy_inclusive: dict[str, collections.Counter[str]] = collections.defaultdict(collections.Counter)
        self.samples: collections.Counter[str] = collections.Counter()
        self.busy: collections.Counter[str] = collections.Counter()
        self.stop = threading.Event()
        self.cpu_start = _task_cpu()
        self.cpu_last: dict[int, float] = dict(self.cpu_start)
        self.tid_name: dict[int, str] = {}
        self.thread = threading.Thread(target=self._run, name="bench-sampler", daemon=True)

    def _run(self) -> None:
        me = threading.get_ident()
        tick = 0
        while not self.stop.wait(INTERVAL_S):
            tick += 1
            threads = threading.enumerate()
            names = {t.ident: t.name for t in threads}
            if tick % CPU_EVERY == 0:
                self._read_cpu(threads)
            for ident, frame in sys._current_frames().items():
                if ident == me:
                    continue
                group = _group(names.get(ident, "unknown"))
                self.samples[group] += 1
                top = _where(frame.f_code)
                working = not top.endswith(WAITING)
                self.own[group][f"{top}:{frame.f_lineno}"] += 1
                if working:
                    self.busy[group] += 1
                seen = set()
                f: Any = frame
                while f is not None:
                    key = _where(f.f_code)
                    if key not in seen:
                        seen.add(key)
                        self.inclusive[group][key] += 1
                        if working:
                            self.busy_inclusive[group][key] += 1
                    f = f.f_back

    def reset(self, *_: Any) -> None:
        """Forget everything so far (SIGUSR1): the report then covers the load, not the start-up."""
        self.cpu_start = _task_cpu()
        self.cpu_last = dict(self.cpu_start)
        for counters in (self.inclusive, self.own, self.busy_inclusive):
            counters.clear()
        self.samples.clear()
        self.busy.clear()

    def _read_cpu(self, threads: list[threading.Thread]) -> None:
        for t in threads:
            if t.native_id is not None:
                self.tid_name[t.native_id] = t.name
        self.cpu_last.update(_task_cpu())

    def report(self) -> dict[str, Any]:
        """CPU per thread group and the stack statistics."""
        self._read_cpu(threading.enumerate())
        cpu: dict[str, float] = collections.defaultdict(float)
        for tid, end in self.cpu_last.items():
            cpu[_group(self.tid_name.get(tid, "unnamed"))] += end - self.cpu_start.get(tid, 0.0)
        groups = {}
        for group, n in self.samples.most_common():
            busy = self.busy[group]
            groups[group] = {
                "samples": n,
                "busy_fraction": round(busy / n, 3),
                "busy_inclusive_top": [(k, round(v / busy, 3)) for k, v in self.busy_inclusive[group].most_common(40)]
                if busy
                else [],
                "self_top": [(k, round(v / n, 3)) for k, v in self.own[group].most_common(25)],
            }
        return {
            "interval_s": INTERVAL_S,
            "note": "cpu_s_by_thread_group is exact (/proc); stack fractions are of Python-level samples, which "
            "land where a thread last held the GIL, so they say what a group was doing, not its CPU share",
            "cpu_s_by_thread_group": {k: round(v, 2) for k, v in sorted(cpu.items(), key=lambda kv: -kv[1])},
            "groups": groups,
        }


def main() -> None:
    """Run the script under the sampler; write the report however it ends."""
    out = Path(sys.argv[1])
    script = sys.argv[2]
    sys.argv = sys.argv[2:]
    sampler = Sampler()
    signal.signal(signal.SIGUSR1, sampler.reset)
    sampler.thread.start()
    try:
        runpy.run_path(script, run_name="__main__")
    finally:
        sampler.stop.set()
        sampler.thread.join()
        out.write_text(json.dumps(sampler.report(), indent=1))


if __name__ == "__main__":
    main()
