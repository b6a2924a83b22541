"""The typed ``numba.njit`` wrapper every feature kernel uses, and a compiled popcount.

Numba's on-disk cache is invalidated only when the *defining* file changes, while the kernels
call across ``_kernels``, ``_behaviour`` and this module and read constants of ``_entities``.
Editing one of those in a source tree would leave the others' cached machine code stale, and
features silently wrong. So, before anything is compiled, a digest of all four sources is
compared with the one the cache was built from; on a mismatch the cached kernels are dropped.
An installed package does not change under its cache (a reinstall rewrites every file).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar, cast

import numba

_F = TypeVar("_F", bound=Callable[..., Any])
_SOURCES = ("_jit.py", "_behaviour.py", "_kernels.py", "_entities.py")
_STAMP = "numba-kernels.sha256"


def _drop_stale_cache() -> None:
    here = Path(__file__).resolve().parent
    try:
        digest = hashlib.sha256(b"".join((here / name).read_bytes() for name in _SOURCES)).hexdigest()
        cache = here / "__pycache__"
        stamp = cache / _STAMP
        if stamp.is_file() and stamp.read_text(encoding="ascii").strip() == digest:
            return
        for stale in (*cache.glob("*.nbi"), *cache.glob("*.nbc")):
            stale.unlink(missing_ok=True)
        cache.mkdir(exist_ok=True)
        stamp.write_text(digest, encoding="ascii")
    except OSError:
        return  # a read-only install: its sources cannot change under the cache either


_drop_stale_cache()


def jit(function: _F) -> _F:
    """``numba.njit(cache=True)``, typed: the kernel keeps its Python signature for mypy."""
    # The GIL stays held: a kernel runs for microseconds, and handing the GIL to another thread
    # could leave this payment waiting a whole switch interval (5 ms) to get it back.
    return cast(_F, numba.njit(cache=True)(function))


@jit
def popcount(x: int) -> int:
    """Set bits of ``x`` (>= 0)."""
    n = 0
    while x:
        x &= x - 1
        n += 1
    return n
