"""What ``finpilot up`` runs of watch: the metrics store, the scraper from the start, the query backend.

With ``watch.prometheus_url`` set, a real Prometheus scrapes and stores, and every read goes to
it; the embedded scraper is not started. Otherwise the scraper reads the configured targets, the
console's own ``/metrics`` and whatever the target source names (the local runtime's routers and
replicas in the demo) into ``<data_dir>/metrics.db``.
"""

from __future__ import annotations

from finpilot.core import Settings
from finpilot.watch import (
    EmbeddedQuery,
    MetricsQuery,
    MetricsStore,
    Scraper,
    ScrapeTarget,
    TargetSource,
    configured_targets,
    open_metrics_store,
    prometheus_query_from_settings,
    scraper_for,
)

CONSOLE_JOB = "finpilot-console"
"""The ``job`` label of the console's own series."""


class WatchStack:
    """The metrics store, its query backend and the scraper, for the life of ``finpilot up``."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.store: MetricsStore | None = None
        self.scraper: Scraper | None = None
        remote = prometheus_query_from_settings(settings.watch)
        if remote is not None:
            self.query: MetricsQuery = remote
        else:
            self.store = open_metrics_store(settings)
            self.query = EmbeddedQuery(self.store)

    def start(self, console_url: str, source: TargetSource | None = None) -> None:
        """Start scraping the configured targets, the console and ``source`` (embedded store only)."""
        if self.store is None or self.scraper is not None:
            return
        targets = [*configured_targets(self.settings), ScrapeTarget(f"{console_url}/metrics", job=CONSOLE_JOB)]
        self.scraper = scraper_for(self.settings, self.store, targets=targets, source=source)
        self.scraper.start()

    def stop(self) -> None:
        """Stop the scraper and close the store; idempotent."""
        if self.scraper is not None:
            self.scraper.stop()
            self.scraper = None
        if self.store is not None:
            self.store.close()
            self.store = None
