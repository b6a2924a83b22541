"""The ``watch.metrics:`` section of ``finpilot.yaml``: scrape targets and interval, and the store's
retention and downsampling."""

from __future__ import annotations

from finpilot.core._model import StrictModel


class WatchMetricsSettings(StrictModel):
    """Scraping and the embedded metrics store."""
