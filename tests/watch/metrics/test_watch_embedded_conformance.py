"""The conformance suite against the embedded store: the same data set, the same answers as Prometheus."""

from __future__ import annotations

from pathlib import Path

from watch_conformance import END, check_metrics_query_conformance, conformance_samples

from finpilot.watch import EmbeddedQuery, MetricsStore


def load(path: Path) -> MetricsStore:
    """A store holding exactly the conformance data set, written as timestamped scrapes."""
    # The data set lies at fixed 2026-01-01 times: the store's clock stands at its end, so nothing
    # is refused as too old or from the future, and compaction never runs during the test.
    store = MetricsStore(path, clock=lambda: END, downsample_after_s=None)
    rows = [
        (s.name, tuple(sorted(s.labels.items())), s.value, round(s.timestamp * 1000)) for s in conformance_samples()
    ]
    result = store.write(rows, scrape_time=END)
    assert result.accepted == len(rows), result
    return store


def test_the_embedded_store_answers_the_conformance_data_set_as_promql_does(tmp_path: Path) -> None:
    store = load(tmp_path / "metrics.db")
    try:
        check_metrics_query_conformance(EmbeddedQuery(store))
    finally:
        store.close()
