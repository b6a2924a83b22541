"""Build the store and the scraper from ``finpilot.yaml`` (``watch.metrics``), for the CLI and ``finpilot up``."""

from __future__ import annotations

from pathlib import Path

from finpilot.core import Settings
from finpilot.watch._metrics._scrape import Scraper
from finpilot.watch._metrics._store import MetricsStore
from finpilot.watch._metrics._target import ScrapeTarget, TargetSource

STORE_FILE = "metrics.db"
"""The embedded store's file name inside the data directory."""


def metrics_store_path(settings: Settings) -> Path:
    """Where the embedded store lives: ``<data_dir>/metrics.db``."""
    return settings.data_dir / STORE_FILE


def open_metrics_store(settings: Settings) -> MetricsStore:
    """The embedded store with ``watch.metrics``' retention, downsampling and tolerances."""
    m = settings.watch.metrics
    return MetricsStore(
        metrics_store_path(settings),
        out_of_order_s=m.out_of_order_s,
        skew_tolerance_s=m.skew_tolerance_s,
        retention_s=m.retention_s,
        downsample_after_s=m.downsample_after_s,
        downsample_step_s=m.downsample_step_s,
    )


def configured_targets(settings: Settings) -> list[ScrapeTarget]:
    """The static targets of ``watch.metrics.targets``."""
    return [ScrapeTarget(t.url, job=t.job, labels=t.labels) for t in settings.watch.metrics.targets]


def scraper_for(
    settings: Settings,
    store: MetricsStore,
    *,
    targets: list[ScrapeTarget] | None = None,
    source: TargetSource | None = None,
    interval_s: float | None = None,
) -> Scraper:
    """A scraper of ``targets`` (default: the configured ones) and a ``source``, at the configured interval."""
    m = settings.watch.metrics
    return Scraper(
        store,
        configured_targets(settings) if targets is None else targets,
        source=source,
        interval_s=m.interval_s if interval_s is None else interval_s,
        timeout_s=min(m.timeout_s, m.interval_s if interval_s is None else interval_s),
    )
