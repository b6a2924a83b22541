"""What ``finpilot up`` runs of watch: the metrics store, the scraper, live detection and alerts.

With ``watch.prometheus_url`` set, a real Prometheus scrapes and stores, and every read goes to
it; the embedded scraper is not started. Otherwise the scraper reads the configured targets, the
console's own ``/metrics`` and whatever the target source names (the local runtime's routers and
replicas in the demo) into ``<data_dir>/metrics.db``.

Once the console serves, :meth:`WatchStack.start_alerting` runs (built, and so checked, before it serves by
:meth:`WatchStack.prepare_alerting`) the :class:`WatchService`: the
alert rules and the live detectors over the same query backend, alert state in
``<data_dir>/watch/alerts.sqlite``, every entry into the ledger and on to the runbook engine.
The built-in demo (no config) brings its own reads, rules and runbook (:data:`DEMO_READS`,
:data:`DEMO_RULES`, :data:`DEMO_RUNBOOK`): p99 latency per payments replica from the router's
histogram and the payments decline rate, scored every few seconds; a latency anomaly on one
replica fires ``PaymentsLatencyAnomaly``, and the runbook restarts that replica.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from finpilot.audit import Entry
from finpilot.audit.kinds import WATCH_ALERT
from finpilot.core import LiveSeriesSettings, Settings
from finpilot.watch import (
    EmbeddedQuery,
    MetricsQuery,
    MetricsStore,
    Scraper,
    ScrapeTarget,
    TargetSource,
    WatchService,
    configured_targets,
    open_metrics_store,
    parse_rules,
    prometheus_query_from_settings,
    scraper_for,
    watch_service_for,
)

CONSOLE_JOB = "finpilot-console"
"""The ``job`` label of the console's own series."""

DEMO_SCRAPE_INTERVAL_S = 5.0
"""The demo scrapes every 5 s (not the default 15 s) so that its detectors learn within a minute."""

DEMO_READS = (
    LiveSeriesSettings(
        name="payments_upstream_p99_seconds",
        selector='finpilot_router_upstream_seconds_bucket{service="payments"}',
        kind="quantile",
        quantile=0.99,
        window_s=30,
        by=["service", "backend"],
        detector="windowed-gaussian",
        threshold=0.99,
        warmup_points=12,
        # A p99 under 0.4 s is no concern however unusual: it keeps a busy laptop's jitter quiet.
        floor=0.4,
        replica_label="backend",
    ),
    LiveSeriesSettings(
        name="payments_decline_rate",
        selector='payments_decisions_total{action="decline"}',
        kind="rate",
        window_s=60,
        aggregate="sum",
        by=["job"],
        detector="windowed-gaussian",
        threshold=0.999,
        warmup_points=24,
        labels={"service": "payments"},
    ),
)
"""The demo's live reads: p99 latency per payments replica (router histogram) and the decline rate."""

DEMO_RULES = """
rules:
  - alert: PaymentsLatencyAnomaly
    type: anomaly
    series: payments_upstream_p99_seconds
    matchers: ['service=payments']
    resolve_after: 2m
    context: 10m
    labels: {severity: warning}
    annotations:
      summary: "p99 latency {value}s on {labels.replica} is anomalous (score {score})"
  - alert: PaymentsDeclineRateAnomaly
    type: anomaly
    series: payments_decline_rate
    resolve_after: 5m
    labels: {severity: info}
    annotations:
      summary: "payments decline rate {value}/s is anomalous (score {score})"
"""
"""The demo's alert rules: an alert per anomaly of each demo read."""

DEMO_RUNBOOK: dict[str, Any] = {
    "name": "latency-anomaly",
    "description": "Restart a payments replica whose latency alert fires, and page with the series and its link.",
    "trigger": {
        "kind": WATCH_ALERT.name,
        "action": "fire",
        "outcome": "firing",
        "subject": "^replica:payments/",
        "when": [{"field": "alertname", "op": "regex", "value": "Latency"}],
    },
    "actions": [
        {"restart": "{slot}"},
        {
            "page": {
                "message": "{evidence.alertname} on {slot}: {evidence.series} at {evidence.value}; restarted it. "
                "{evidence.link}",
                "severity": "warning",
            }
        },
    ],
    "rate_limit": {"max_actions": 4, "window_s": 900, "max_per_target": 2, "cooldown_s": 120},
}
"""The demo's runbook (examples/runbooks/latency-anomaly.yaml, with a shorter cool-down for repeated tours)."""


def demo_settings(settings: Settings) -> Settings:
    """``settings`` with the demo's scrape interval (the built-in demo only)."""
    metrics = settings.watch.metrics.model_copy(update={"interval_s": DEMO_SCRAPE_INTERVAL_S})
    detect = settings.watch.detect.model_copy(update={"interval_s": DEMO_SCRAPE_INTERVAL_S})
    watch = settings.watch.model_copy(update={"metrics": metrics, "detect": detect})
    return settings.model_copy(update={"watch": watch})


class WatchStack:
    """The metrics store, its query backend, the scraper and the watch service, for the life of ``finpilot up``."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.store: MetricsStore | None = None
        self.scraper: Scraper | None = None
        self.service: WatchService | None = None
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

    def prepare_alerting(
        self, console_url: str | None, *, record: Callable[[Entry], object] | None, demo: bool = False
    ) -> WatchService:
        """Build the watch service (rules, live reads, sinks) without starting it: bad config raises here.

        Alert links point at ``console_url`` unless the config names ``watch.alerts.console_base_url``;
        ``demo`` uses the demo's reads and rules (:data:`DEMO_READS`, :data:`DEMO_RULES`).
        """
        if self.service is not None:
            return self.service
        settings = self.settings
        alerts = settings.watch.alerts
        if console_url is not None and "console_base_url" not in alerts.model_fields_set:
            alerts = alerts.model_copy(update={"console_base_url": console_url})
            settings = settings.model_copy(update={"watch": settings.watch.model_copy(update={"alerts": alerts})})
        self.service = watch_service_for(
            settings,
            self.query,
            record=record,
            rules=parse_rules(DEMO_RULES, source="demo rules") if demo else None,
            reads=DEMO_READS if demo else None,
        )
        return self.service

    def start_alerting(self) -> None:
        """Start the service :meth:`prepare_alerting` built."""
        if self.service is not None:
            self.service.start()

    def stop(self) -> None:
        """Stop the watch service and the scraper, and close the stores; idempotent."""
        if self.service is not None:
            self.service.stop()
            self.service.manager.close()
            self.service = None
        if self.scraper is not None:
            self.scraper.stop()
            self.scraper = None
        if self.store is not None:
            self.store.close()
            self.store = None
