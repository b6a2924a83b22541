"""A feature snapshot written by a forked child, so that scoring stops only for the fork.

A partition's periodic snapshot must show the feature state at one instant: the ledger position
it covers says which payments a restart replays. Copying the state under the service's lock
gives that instant, but costs a copy of every row, about 920 bytes a card: at a million cards
the lock is held for a large fraction of a second every 30 s, and every request waits. A forked
child sees the parent's memory as it was at the fork (copy-on-write, as Redis's BGSAVE), so
the lock is held only while the kernel copies page tables, and the child writes the snapshot
while the parent goes on scoring.

The child runs only :meth:`FeatureEngine.snapshot_to` (Python, numpy views, orjson) and file
calls, and leaves with ``os._exit``: nothing in it takes a lock another thread may have held at
the fork (CPython resets the GIL; glibc's malloc makes itself safe across fork), and no
parent-side cleanup (atexit, buffered files, the ledger's connections) runs in it. Where fork is
missing or fails (no memory to commit a copy of the address space), the caller copies under the
lock as before.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import sys
import warnings
from pathlib import Path
from typing import Any

from finpilot.core import private_file
from finpilot.fraud._features._engine import FeatureEngine

_log = logging.getLogger("finpilot.fraud")

CAN_FORK = hasattr(os, "fork") and sys.platform.startswith("linux")
"""Whether snapshots are forked here (Linux, where the fork safety above holds); elsewhere they are copied."""


FORK_ABOVE_BYTES = 16 * 2**20
"""Below this much row state (about 16,000 cards) the copy under the lock is a few milliseconds.
A fork costs about 9 ms whatever the state (its page tables cover the interpreter and libraries
too), and the copy overtakes it near 45,000 cards; the child's paced writes keep the ledger's
fsyncs short from about 30,000 (bench_snapshot_stall)."""


def fork_snapshot(engine: FeatureEngine, path: Path) -> int | None:
    """Fork a child that writes ``engine``'s snapshot to ``path`` (owner-only, fsynced, renamed into place).

    Call it with the engine's lock held, and release the lock once it returns: the snapshot is of
    the state at this call. Returns the child's pid (wait for it with :func:`snapshot_done`), or
    ``None``, and then nothing was written: no fork here, or too little state to be worth one
    (:data:`FORK_ABOVE_BYTES`), or the fork failed.
    """
    if not CAN_FORK or engine.allocated_bytes() < FORK_ABOVE_BYTES:
        return None
    try:
        with warnings.catch_warnings():
            # Python 3.12+ warns that forking a threaded process may deadlock the child: this child
            # takes no lock that another thread could hold (see the module's docstring).
            warnings.simplefilter("ignore", DeprecationWarning)
            pid = os.fork()
    except OSError as exc:
        _log.warning("cannot fork to write the feature snapshot (%s); copying it under the lock instead", exc)
        return None
    if pid == 0:  # pragma: no cover - the child's exit status is what the parent (and the tests) see
        _write_and_exit(engine, path)
    return pid


def _write_and_exit(engine: FeatureEngine, path: Path) -> None:
    code = 1
    try:
        # The parent's signal handling is not the child's: a signal must not be passed to the
        # parent's event loop through the wakeup descriptor they share, and SIGTERM or SIGINT
        # simply end the child (the parent's last committed pair stays).
        signal.set_wakeup_fd(-1)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        os.nice(10)  # the parent's scoring comes first for the CPU
        tmp = private_file(path.with_name(path.name + ".tmp"))
        with tmp.open("wb") as fh:
            engine.snapshot_to(_Paced(fh))
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
        code = 0
    except BaseException as exc:  # whatever happens, the child must not return into the parent's code
        with contextlib.suppress(OSError):
            os.write(2, f"finpilot: feature snapshot child failed: {type(exc).__name__}: {exc}\n".encode())
    finally:
        os._exit(code)


class _Paced:
    """A file whose written bytes reach the disk every :data:`_SYNC_EVERY` bytes, not all at the end.

    One fsync of a gigabyte queues every other fsync on the disk behind it, the ledger's group
    commit included, so each payment would wait for the snapshot; small steps keep that wait short.
    """

    def __init__(self, file: Any) -> None:
        self.file = file
        self.unsynced = 0

    def write(self, data: Any) -> int:
        written = int(self.file.write(data))
        self.unsynced += written
        if self.unsynced >= _SYNC_EVERY:
            self.file.flush()
            os.fdatasync(self.file.fileno())
            self.unsynced = 0
        return written


_SYNC_EVERY = 32 * 2**20


def snapshot_done(pid: int, *, wait: bool) -> bool | None:
    """Whether child ``pid`` wrote its snapshot: ``True`` (written), ``False`` (failed), ``None`` (still writing)."""
    try:
        done, status = os.waitpid(pid, 0 if wait else os.WNOHANG)
    except ChildProcessError:
        return False  # reaped by someone else: its file cannot be trusted to be complete
    if done == 0:
        return None
    ok = os.waitstatus_to_exitcode(status) == 0
    if not ok:
        _log.warning("the feature snapshot child %d exited with %d", pid, os.waitstatus_to_exitcode(status))
    return ok
