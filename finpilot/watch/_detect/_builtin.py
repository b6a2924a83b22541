"""Registers the baseline detectors that ship with watch (imported by the package, once)."""

from __future__ import annotations

from finpilot.watch._detect._contextual import ContextualDetector
from finpilot.watch._detect._ensemble import EnsembleDetector
from finpilot.watch._detect._null import NullDetector
from finpilot.watch._detect._registry import register_detector
from finpilot.watch._detect._seasonal import SeasonalDetector
from finpilot.watch._detect._windowed_gaussian import WindowedGaussian

register_detector(NullDetector.name, NullDetector)
register_detector(WindowedGaussian.name, WindowedGaussian)
register_detector(SeasonalDetector.name, SeasonalDetector)
register_detector(ContextualDetector.name, ContextualDetector)
register_detector(EnsembleDetector.name, EnsembleDetector)
