"""The watch service: for the life of ``finpilot up``, live detection and the alert loop on one thread.

Every ``tick_s`` (1 s) the thread ticks the alert manager (grouping, notifications, retries);
every ``evaluation_interval_s`` it evaluates the metric rules; every ``detect_interval_s`` it
scores the newest point of each live series (:class:`LiveDetection`) and hands each anomaly to
the manager (``on_anomaly(..., record=True)``: a ``watch.anomaly`` entry, then the anomaly rules'
alerts). The manager's ``record`` callback is where entries leave: the caller appends them to the
ledger and offers them to the runbook engine.

Nothing that goes wrong in a round stops the thread: a failed read is counted and kept in
:meth:`WatchService.status` (the last error per read or rule), and an unexpected error in a round
is logged, counted and the next round runs as usual. One thread owns the manager and the
detectors, so neither needs a lock; :meth:`status` reads a snapshot under a lock.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from finpilot.audit import Entry
from finpilot.core import Clock, FinpilotError, LiveSeriesSettings, Settings, utc_now
from finpilot.watch._alerts._loop import AlertLoop
from finpilot.watch._alerts._manager import AlertManager, AnyRule
from finpilot.watch._alerts._rules import load_rules
from finpilot.watch._detect._contract import Anomaly
from finpilot.watch._live._detection import LiveDetection
from finpilot.watch._metrics._types import MetricsQuery

_log = logging.getLogger("finpilot.watch.service")


@dataclass
class ServiceCounters:
    """What the service has done so far, for ``status()`` and the tests."""

    rounds: int = 0
    detections: int = 0
    scored: int = 0
    anomalies: int = 0
    query_errors: int = 0
    round_errors: int = 0
    last_errors: dict[str, str] = field(default_factory=dict)
    """``{read or rule: error}``, the newest error of each; cleared when it next succeeds."""


class WatchService:
    """Runs live detection and the alert loop on a thread of its own until :meth:`stop`."""

    def __init__(
        self,
        manager: AlertManager,
        rules: Sequence[AnyRule],
        query: MetricsQuery,
        *,
        detection: LiveDetection | None = None,
        evaluation_interval_s: float = 15.0,
        detect_interval_s: float = 5.0,
        tick_s: float = 1.0,
        on_anomaly: Callable[[Anomaly], object] | None = None,
    ) -> None:
        self.manager = manager
        self.rules = list(rules)
        self.query = query
        self.detection = detection
        self.loop = AlertLoop(manager, self.rules, query, evaluation_interval_s=evaluation_interval_s, tick_s=tick_s)
        self.detect_interval_s = detect_interval_s
        self.tick_s = tick_s
        self.counters = ServiceCounters()
        self._on_anomaly = on_anomaly
        self._next_detect = float("-inf")
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> None:
        """Start the thread (a second call does nothing)."""
        if self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="finpilot-watch", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 30.0) -> None:
        """Finish the round in progress and stop; idempotent. The manager stays open (the caller closes it)."""
        thread, self._thread = self._thread, None
        if thread is None:
            return
        self._stop.set()
        thread.join(timeout)

    @property
    def running(self) -> bool:
        """Whether the thread runs."""
        return self._thread is not None and self._thread.is_alive()

    def _run(self) -> None:
        while not self._stop.is_set():
            self.step()
            self._stop.wait(self.tick_s)

    # ------------------------------------------------------------------ one round
    def step(self) -> None:
        """One round: detection if due, then the alert loop's step (rules if due, then a tick)."""
        try:
            now = self.manager.now()
            if self.detection is not None and now >= self._next_detect:
                self._next_detect = now + self.detect_interval_s
                self._detect(now)
            self.loop.step()
            self._note("rules", self.loop.failures)
        except Exception as exc:  # one bad round must not end alerting for the life of `up`
            message = exc.message if isinstance(exc, FinpilotError) else f"{type(exc).__name__}: {exc}"
            _log.warning("watch round failed: %s", message, exc_info=not isinstance(exc, FinpilotError))
            with self._lock:
                self.counters.round_errors += 1
                self.counters.last_errors["round"] = message
        with self._lock:
            self.counters.rounds += 1

    def _detect(self, now: float) -> None:
        assert self.detection is not None
        found = self.detection.step(self.query, now)
        self._note("detect", found.failures)
        with self._lock:
            self.counters.detections += 1
            self.counters.scored += found.scored
            self.counters.anomalies += len(found.anomalies)
        for anomaly in found.anomalies:
            self.manager.on_anomaly(anomaly, self.rules, record=True)
            if self._on_anomaly is not None:
                self._on_anomaly(anomaly)

    def _note(self, source: str, failures: Mapping[str, str]) -> None:
        with self._lock:
            stale = [k for k in self.counters.last_errors if k.startswith(f"{source}:")]
            for key in stale:
                if key.removeprefix(f"{source}:") not in failures:
                    del self.counters.last_errors[key]
            for name, error in failures.items():
                self.counters.query_errors += 1
                self.counters.last_errors[f"{source}:{name}"] = error

    # ------------------------------------------------------------------ reads
    def status(self) -> dict[str, Any]:
        """A JSON-ready snapshot: running, counters, the newest errors, series tracked."""
        with self._lock:
            c = self.counters
            return {
                "running": self.running,
                "rounds": c.rounds,
                "detections": c.detections,
                "scored": c.scored,
                "anomalies": c.anomalies,
                "query_errors": c.query_errors,
                "round_errors": c.round_errors,
                "last_errors": dict(c.last_errors),
                "series_tracked": self.detection.tracked if self.detection is not None else 0,
                "series_untracked": self.detection.untracked if self.detection is not None else 0,
                "rules": len(self.rules),
            }


def watch_service_for(
    settings: Settings,
    query: MetricsQuery,
    *,
    record: Callable[[Entry], object] | None,
    rules: Sequence[AnyRule] | None = None,
    reads: Sequence[LiveSeriesSettings] | None = None,
    clock: Clock = utc_now,
    environ: Mapping[str, str] | None = None,
    tick_s: float = 1.0,
) -> WatchService:
    """The service ``finpilot.yaml`` describes: its rules, live reads, sinks and alert state in the data dir.

    ``rules`` and ``reads`` replace the configured ones (the built-in demo passes its own). Bad
    rules, an unknown detector or a sink whose secret is missing raise here, before anything runs.
    """
    watch = settings.watch
    found_rules = list(rules) if rules is not None else load_rules(watch.alerts.rules_dir, watch.alerts.rules)
    found_reads = list(reads) if reads is not None else list(watch.detect.series)
    detection = LiveDetection(found_reads, max_series=watch.detect.max_series) if found_reads else None
    manager = AlertManager.from_settings(settings, clock=clock, record=record, environ=environ)
    return WatchService(
        manager,
        found_rules,
        query,
        detection=detection,
        evaluation_interval_s=watch.alerts.evaluation_interval_s,
        detect_interval_s=watch.detect.interval_s,
        tick_s=tick_s,
    )
