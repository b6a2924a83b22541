"""``watch.metrics`` in finpilot.yaml: defaults, a full section, and errors naming the field."""

from __future__ import annotations

from pathlib import Path

import pytest

from finpilot.core import ConfigError, parse_settings
from finpilot.watch import configured_targets, metrics_store_path, open_metrics_store, scraper_for

FULL = """
data_dir: {data}
watch:
  metrics:
    interval_s: 5
    timeout_s: 2
    targets:
      - {{url: "http://127.0.0.1:8001/metrics", job: payments, labels: {{env: demo}}}}
      - {{url: "http://127.0.0.1:8002/metrics"}}
    retention_s: 86400
    downsample_after_s: 3600
    downsample_step_s: 60
    out_of_order_s: 10
    skew_tolerance_s: 5
"""


def test_defaults() -> None:
    m = parse_settings("").watch.metrics
    assert (m.interval_s, m.timeout_s, m.targets) == (15.0, 10.0, [])
    assert m.downsample_after_s is not None
    assert m.downsample_after_s < m.retention_s


def test_a_full_section_builds_the_store_and_the_scraper(tmp_path: Path) -> None:
    settings = parse_settings(FULL.format(data=tmp_path))
    targets = configured_targets(settings)
    assert [(t.job, t.instance, dict(t.labels)) for t in targets] == [
        ("payments", "127.0.0.1:8001", {"env": "demo"}),
        ("finpilot", "127.0.0.1:8002", {}),
    ]
    store = open_metrics_store(settings)
    assert metrics_store_path(settings) == tmp_path / "metrics.db"
    assert store.out_of_order_ms == 10_000
    assert store.skew_tolerance_ms == 5_000
    assert store.step_ms == 60_000
    scraper = scraper_for(settings, store)
    assert (scraper.interval_s, scraper.timeout_s, len(scraper.targets())) == (5.0, 2.0, 2)
    scraper.stop()
    store.close()


@pytest.mark.parametrize(
    ("section", "words"),
    [
        ("interval_s: 5\n    timeout_s: 10", "timeout_s must not exceed interval_s"),
        ("retention_s: 100\n    downsample_after_s: 200", "downsample_after_s must be shorter"),
        ("interval_s: 0", "interval_s"),
        ('targets: [{url: "ftp://x/metrics"}]', "url"),
        ('targets: [{url: "http://x/m", labels: {"bad-name": "1"}}]', "not a label name"),
        ("scrape_every: 5", "scrape_every"),
    ],
)
def test_bad_sections_are_config_errors(section: str, words: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_settings(f"watch:\n  metrics:\n    {section}\n")
    assert words in str(caught.value) + str(caught.value.field)
