"""The typed ``numba.njit`` wrapper every feature kernel uses, and a compiled popcount."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar, cast

import numba

_F = TypeVar("_F", bound=Callable[..., Any])


def jit(function: _F) -> _F:
    """``numba.njit(cache=True)``, typed: the kernel keeps its Python signature for mypy."""
    return cast(_F, numba.njit(cache=True, nogil=True)(function))


@jit
def popcount(x: int) -> int:
    """Set bits of ``x`` (>= 0)."""
    n = 0
    while x:
        x &= x - 1
        n += 1
    return n
