"""Replica launcher: ``python -m finpilot.heal._runtime._launch``. Dies with its node agent; forks warm replicas.

Every replica process starts here, so that it asks the kernel for SIGKILL when its parent
dies (``PR_SET_PDEATHSIG``, which survives ``exec``): killing a node agent kills its
replicas, as a node failure would.

* ``--exec LOG -- ARGV...`` runs a command service.
* ``--zygote MODULE`` is a fork server for a Python module service (like gunicorn's
  ``preload``): it imports everything the module's ``__main__`` imports, then forks one
  child per order. A Python web service spends about a second importing (several under
  load); a forked child skips that and pays only the app's own start-up, so a crashed
  replica serves again in a fraction of a second. The zygote is single-threaded, so a fork
  never copies a lock held by another thread.

Zygote protocol, one JSON object per line. stdin: ``{"id": ..., "argv": [...], "log": "/path"}``.
stdout: ``{"id": ..., "pid": N}`` when forked, ``{"exit": N, "code": C}`` when a child ends
(``C`` negative: killed by signal ``-C``).
"""

from __future__ import annotations

import ast
import contextlib
import ctypes
import gc
import importlib
import importlib.util
import json
import os
import pkgutil
import runpy
import selectors
import signal
import sys
import traceback
from typing import Any

_PR_SET_PDEATHSIG = 1


def die_with_parent() -> None:
    """Ask Linux to SIGKILL this process when its parent dies; exit now if the parent is already gone."""
    parent = os.getppid()
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    except (OSError, AttributeError):  # pragma: no cover - not Linux: the agent's process group still covers it
        return
    if os.getppid() != parent or parent == 1:
        os._exit(1)


def _main_imports(module: str) -> list[str]:
    # The modules the entry point imports at its top level: importing them early is safe
    # (no code of the entry point itself runs), and is where the start-up time goes.
    try:
        spec = importlib.util.find_spec(f"{module}.__main__")
    except ImportError:  # a plain module, not a package
        spec = None
    spec = spec or importlib.util.find_spec(module)
    if spec is None or spec.origin is None or not spec.origin.endswith(".py"):
        return []
    with open(spec.origin, encoding="utf-8") as fh:
        tree = ast.parse(fh.read())
    names: list[str] = []
    for node in tree.body:
        if isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.append(node.module)
    return names


def _package_modules(module: str) -> list[str]:
    # The service's own package, whole: its modules are imported by the app sooner or later
    # (often lazily, on the first request), and each one a child imports costs it CPU.
    top = module.split(".", maxsplit=1)[0]
    spec = importlib.util.find_spec(top)
    if spec is None or not spec.submodule_search_locations:
        return []
    return [
        info.name
        for info in pkgutil.walk_packages(spec.submodule_search_locations, prefix=f"{top}.")
        if not info.name.endswith(".__main__")
    ]


def preload(module: str) -> None:
    """Import the package, its modules and what its ``__main__`` imports; failures are left for the real run."""
    for name in [module, *_main_imports(module), *_package_modules(module)]:
        try:
            importlib.import_module(name)
        except Exception:  # nosec B112  # noqa: S112 - the replica's own start reports the error properly
            continue


def _redirect(log: str) -> None:
    fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    os.close(fd)
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.close(null)


def _run_child(module: str, order: dict[str, Any]) -> None:
    code = 1
    try:
        die_with_parent()
        _redirect(order["log"])
        sys.argv = [module, *order["argv"]]
        runpy.run_module(module, run_name="__main__", alter_sys=True)
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except BaseException:
        traceback.print_exc()
    finally:
        with contextlib.suppress(Exception):
            sys.stdout.flush()
            sys.stderr.flush()
        os._exit(code)


def zygote(module: str) -> int:
    """Preload ``module`` and fork a replica per order on stdin until stdin closes (see the module docstring)."""
    preload(module)
    # Move everything imported so far out of the collector's reach: a collection in a child
    # would otherwise touch (and so copy) every page of the preloaded heap.
    gc.collect()
    gc.freeze()
    wake_r, wake_w = os.pipe()
    os.set_blocking(wake_r, False)
    os.set_blocking(wake_w, False)
    signal.set_wakeup_fd(wake_w)
    signal.signal(signal.SIGCHLD, lambda _sig, _frame: None)
    selector = selectors.DefaultSelector()
    selector.register(0, selectors.EVENT_READ)
    selector.register(wake_r, selectors.EVENT_READ)

    def say(message: dict[str, Any]) -> None:
        os.write(1, (json.dumps(message) + "\n").encode())

    def reap() -> None:
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            say({"exit": pid, "code": os.waitstatus_to_exitcode(status)})

    pending = b""
    while True:
        for key, _ in selector.select():
            if key.fd == wake_r:
                with contextlib.suppress(BlockingIOError):
                    os.read(wake_r, 4096)
                reap()
                continue
            data = os.read(0, 65536)
            if not data:
                return 0  # the agent is gone or done with us
            pending += data
            while b"\n" in pending:
                line, pending = pending.split(b"\n", 1)
                order = json.loads(line)
                pid = os.fork()
                if pid == 0:
                    signal.set_wakeup_fd(-1)
                    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
                    selector.close()
                    os.close(wake_r)
                    os.close(wake_w)
                    _run_child(module, order)
                say({"id": order["id"], "pid": pid})
        reap()


def main(argv: list[str]) -> int:
    """``--zygote MODULE`` (fork server) or ``--exec LOG -- ARGV...`` (start a command now)."""
    die_with_parent()
    if argv[:1] == ["--exec"]:
        _redirect(argv[1])
        os.execvp(argv[3], argv[3:])  # nosec B606  # noqa: S606 - argv comes from the validated service spec
    return zygote(argv[1])


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
