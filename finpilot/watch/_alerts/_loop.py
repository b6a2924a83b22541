"""The alert loop: evaluate the metric rules every ``evaluation_interval``, tick the manager every second.

Anomalies and forecasts arrive as events (:meth:`AlertManager.on_anomaly`,
:meth:`AlertManager.on_forecast`) from whatever runs the detectors and forecasters; this loop
only owns what is periodic. :meth:`AlertLoop.step` does one round, for tests and for callers
that have a loop of their own.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass, field

from finpilot.watch._alerts._manager import AlertManager, AnyRule, TickReport
from finpilot.watch._metrics._types import MetricsQuery


@dataclass
class AlertLoop:
    """Runs rule evaluation and the manager's tick until stopped."""

    manager: AlertManager
    rules: Sequence[AnyRule]
    query: MetricsQuery
    evaluation_interval_s: float = 15.0
    tick_s: float = 1.0
    failures: dict[str, str] = field(default_factory=dict)
    """The last evaluation's failed rules, ``{rule: error}`` (empty when all ran)."""
    _next_evaluation: float = field(default=float("-inf"), repr=False)

    def step(self) -> TickReport:
        """Evaluate the rules if their interval is over, then tick once."""
        now = self.manager.now()
        if now >= self._next_evaluation:
            self.failures = self.manager.evaluate(self.rules, self.query)
            self._next_evaluation = now + self.evaluation_interval_s
        return self.manager.tick()

    def run(self, stop: threading.Event) -> None:
        """Step every ``tick_s`` seconds until ``stop`` is set."""
        while not stop.is_set():
            self.step()
            stop.wait(self.tick_s)
