"""What ``finpilot up`` runs of the predictive autoscaler in the demo: payments, met ahead of "market open".

The demo's traffic follows a compressed trading day (:func:`demo_schedule`): the base rate, and a
surge at a known time of each day. The autoscaler does not read that schedule. It reads the
router's request rate from the metrics store, and learns the daily pattern from the store's
history: two days of it are backfilled at start, standing for the weeks of history a company's
metrics hold (a demo that first ran two compressed days of traffic would say the same thing,
four minutes later). It then scales the payments service on the local runtime ahead of each
surge and back down after it; every action is a ``watch.scale`` audit entry with its forecast.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from finpilot.audit import Entry
from finpilot.heal import RuntimeScaleTarget
from finpilot.watch import (
    AutoscaleLoop,
    CapacityModel,
    MetricsQuery,
    MetricsStore,
    PredictiveAutoscaler,
    PredictiveSettings,
    RateSchedule,
    backfill_counter,
)

DAY_S = 120.0
"""The demo's compressed trading day."""
SURGE_AT_S = 80.0
"""Market open: seconds into each day."""
SURGE_S = 20.0
"""How long the surge lasts."""
SURGE_FACTOR = 2.5
"""The surge's rate as a multiple of the base rate."""
HISTORY_DAYS = 2
"""Days of request-rate history written into the store at start."""
SCRAPE_S = 5.0
"""The demo's scrape interval while the surge runs (15 s would see a 20 s surge in one or two points)."""
STEP_S = 5.0
"""Seconds between two autoscaler decisions."""
SERVICE = "payments"
SIGNAL = 'finpilot_router_requests_total{service="payments"}'
"""The load signal: the router's request counter for payments (its summed rate)."""
HISTORY_LABELS = {"service": SERVICE, "source": "history"}


def demo_schedule(rate: float, origin: float) -> RateSchedule:
    """The demo's day: ``rate`` req/s, ``SURGE_FACTOR`` times that from ``SURGE_AT_S`` for ``SURGE_S``."""
    return RateSchedule(rate, DAY_S, SURGE_AT_S, SURGE_S, SURGE_FACTOR, origin=origin)


def demo_model(rate: float) -> CapacityModel:
    """The demo's capacity model: a configured rate per replica (replicas share 2 cores here).

    The base rate fits the demo's 2 replicas, the surge needs 4; a replica is given 10 s to start.
    """
    return CapacityModel(step_s=STEP_S, per_replica=0.75 * rate, startup_s=10.0, min_replicas=2, max_replicas=4)


def demo_policy() -> PredictiveSettings:
    """The seasonal policy over the demo's day, with short stabilisation windows."""
    return PredictiveSettings(season_s=DAY_S, extra_lead_s=10.0, down_window_s=20.0, up_cooldown_s=20.0)


class DemoAutoscaler:
    """The payments autoscaler of the demo: backfill the history, then step in a thread."""

    def __init__(
        self,
        query: MetricsQuery,
        store: MetricsStore | None,
        target: RuntimeScaleTarget,
        schedule: RateSchedule,
        audit: Callable[[Entry], object],
    ) -> None:
        self.store = store
        self.schedule = schedule
        self.autoscaler = PredictiveAutoscaler(
            query,
            target,
            SERVICE,
            SIGNAL,
            model=demo_model(schedule.base),
            settings=demo_policy(),
            audit=audit,
            rate_window=3 * SCRAPE_S,
        )
        self.loop = AutoscaleLoop(self.autoscaler, warm_s=HISTORY_DAYS * DAY_S - 2 * STEP_S)

    def start(self) -> None:
        """Write the history (embedded store only; a real Prometheus has its own), then start the loop."""
        now = time.time()
        if self.store is not None:
            start = now - HISTORY_DAYS * DAY_S - 2 * STEP_S
            backfill_counter(
                self.store, SIGNAL.split("{", maxsplit=1)[0], HISTORY_LABELS, self.schedule, start, now - 1
            )
        self.loop.start()

    def stop(self) -> None:
        """Stop the loop; idempotent."""
        self.loop.stop()
