"""Fixtures for the real-Prometheus tests: a Prometheus backfilled with the conformance data set."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from watch_conformance import conformance_samples
from watch_prom_helpers import backfill, running_prometheus, scrape_config

from finpilot.watch import PrometheusQuery


@pytest.fixture(scope="module")
def conformance_prometheus(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PrometheusQuery]:
    """A real Prometheus whose TSDB holds exactly the conformance data set (backfilled by promtool)."""
    work: Path = tmp_path_factory.mktemp("prom-conformance")
    backfill(conformance_samples(), work / "tsdb", work)
    # Nothing to scrape: the only samples are the backfilled ones.
    with running_prometheus(work, scrape_config([]), tsdb=work / "tsdb") as url, PrometheusQuery(url) as query:
        yield query
