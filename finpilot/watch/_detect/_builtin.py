"""Registers the baseline detectors that ship with watch (imported by the package, once)."""

from __future__ import annotations

from finpilot.watch._detect._null import NullDetector
from finpilot.watch._detect._registry import register_detector
from finpilot.watch._detect._windowed_gaussian import WindowedGaussian

register_detector(NullDetector.name, NullDetector)
register_detector(WindowedGaussian.name, WindowedGaussian)
