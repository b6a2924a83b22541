"""The live autoscaler's loop: a thread that steps a :class:`PredictiveAutoscaler` on its grid.

It first teaches the forecaster the signal's history (``warm_s`` seconds of it, from the metrics
store), then steps once per ``model.step_s``. A refused action is recorded (the autoscaler has
audited it) and the loop goes on; so does a metrics read that fails for a moment.
"""

from __future__ import annotations

import logging
import threading
import time

from finpilot.core import FinpilotError
from finpilot.watch._scale._autoscaler import PredictiveAutoscaler, ScaleAction

_log = logging.getLogger("finpilot.watch.autoscale")


class AutoscaleLoop:
    """Run an autoscaler in a daemon thread until :meth:`stop` (see the module docstring)."""

    def __init__(self, autoscaler: PredictiveAutoscaler, *, warm_s: float = 0.0) -> None:
        self.autoscaler = autoscaler
        self.warm_s = warm_s
        self.actions: list[tuple[float, ScaleAction]] = []
        """``(Unix time, action)`` of every action taken, oldest first."""
        self.errors: list[str] = []
        """The last errors met (a refused action, a failed read), newest last, at most 20."""
        self.warmed = 0
        """Steps of history the forecaster was taught at start."""
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Warm the forecaster from history, then step in the background; idempotent."""
        if self._thread is not None:
            return
        self.warmed = self.autoscaler.warm(span_s=self.warm_s)
        self._thread = threading.Thread(target=self._run, name=f"autoscale-{self.autoscaler.service}", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        step = self.autoscaler.model.step_s
        while not self._stop.is_set():
            try:
                action = self.autoscaler.step()
            except FinpilotError as exc:
                _log.warning("autoscaler %s: %s", self.autoscaler.service, exc)
                self.errors = [*self.errors[-19:], str(exc)]
            else:
                if action is not None:
                    self.actions.append((time.time(), action))
            # Wake just after the next grid step, whatever this one cost.
            now = time.time()
            self._stop.wait(step - now % step + 0.05)

    def stop(self) -> None:
        """Stop stepping and wait for the thread; idempotent."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None
