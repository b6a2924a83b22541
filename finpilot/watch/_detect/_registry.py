"""The registry of streaming detectors, by name.

Each detector lives in a file of its own under ``finpilot/watch/_detect/`` and is listed here
with a factory that builds a fresh instance (one per series). Hyper-parameters are the
factory's defaults: the same for every series, as the NAB rules require.
"""

from __future__ import annotations

from collections.abc import Callable

from finpilot.watch._detect._contract import Detector
from finpilot.watch._errors import UnknownDetectorError

DetectorFactory = Callable[[], Detector]
"""Builds a fresh detector for one series."""

_FACTORIES: dict[str, DetectorFactory] = {}

DEFAULT_DETECTOR = "ensemble"
"""The detector used when none is named (set to the best-scoring registered one)."""


def register_detector(name: str, factory: DetectorFactory) -> None:
    """Register ``factory`` under ``name`` (a name may be registered once)."""
    if name in _FACTORIES:
        raise ValueError(f"detector {name!r} is already registered")
    _FACTORIES[name] = factory


def detector_names() -> list[str]:
    """The registered detector names, sorted."""
    return sorted(_FACTORIES)


def make_detector(name: str) -> Detector:
    """A fresh detector by registry name; :class:`UnknownDetectorError` lists the known names."""
    try:
        factory = _FACTORIES[name]
    except KeyError:
        known = ", ".join(detector_names()) or "none"
        raise UnknownDetectorError(
            f"no detector named {name!r}",
            field="detector",
            fix=f"use one of: {known} (finpilot watch detectors lists them)",
        ) from None
    return factory()
