"""The demo stack's payments service behind a real Prometheus, read back through PrometheusQuery.

The payments app runs on a real socket; Prometheus scrapes its ``/metrics`` every second; the test
drives known requests and reads the request count, the request rate and the p99 latency back
through the query API. The shipped scrape config (``examples/prometheus/prometheus.yml``) is
checked with ``promtool check config``.
"""

from __future__ import annotations

import math
import subprocess
import time
from pathlib import Path

import httpx
import pytest
from finpilot_payments import PaymentsSettings, create_app
from server_helpers import serve_in_thread
from watch_prom_helpers import PROMTOOL, need_binary, running_prometheus, scrape_config, wait_for

from finpilot.watch import PrometheusQuery

pytestmark = pytest.mark.slow  # a real Prometheus scrapes for several seconds first

EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "prometheus" / "prometheus.yml"
HEALTHZ = 'payments_requests_total{route="/healthz", method="GET", status="200"}'


def test_request_count_rate_and_p99_of_the_payments_service_through_prometheus(tmp_path: Path) -> None:
    app = create_app(PaymentsSettings(data_dir=tmp_path / "payments"))
    with serve_in_thread(app) as app_url, httpx.Client(base_url=app_url) as client:
        target = app_url.removeprefix("http://")
        with running_prometheus(tmp_path / "prom", scrape_config([target])) as url, PrometheusQuery(url) as query:
            # Prometheus applies its scrape config up to 5 s after it is ready: wait for the first scrape.
            wait_for(lambda: query.series('up{job="test"}', time.time() - 60, time.time()), bool, what="a scrape")
            sent = 0
            started = time.time()
            # About 100 requests a second for 6 s: several scrapes see the counter grow.
            while time.time() - started < 6:
                assert client.get("/healthz").status_code == 200
                sent += 1
                time.sleep(0.01)
            stopped = time.time()
            assert client.get("/no-such-page").status_code == 404

            def latest() -> float:
                found = query.range(HEALTHZ, time.time() - 5, time.time(), 1.0)
                return found[0].points[-1][1] if found and found[0].points else -1.0

            # The counter Prometheus scraped last is exactly the requests this test sent.
            assert wait_for(latest, lambda v: v == sent, timeout=15, what=f"{sent} requests scraped") == sent
            now = time.time()
            pace = sent / (stopped - started)
            # Windows that lie inside the run see its pace (scrape timing and extrapolation aside).
            rate = query.aggregate("sum", HEALTHZ, started + 3, stopped - 0.5, 0.5, rate_window=2.5)
            assert len(rate) == 1
            assert rate[0].points
            assert all(0.6 * pace < v < 1.4 * pace for _, v in rate[0].points), (pace, rate[0].points)
            p99 = query.histogram_quantile(
                0.99, 'payments_request_seconds_bucket{route="/healthz"}', now - 30, now, 1.0, 10.0, by=("route",)
            )
            assert [s.labels for s in p99] == [{"route": "/healthz"}]
            values = [v for _, v in p99[0].points if not math.isnan(v)]
            # A local health check is served in well under a second, and takes some time.
            assert values
            assert all(0 < v < 1.0 for v in values), values
            statuses = {s.labels["status"] for s in query.series("payments_requests_total", now - 60, now)}
            assert {"200", "404"} <= statuses


def test_the_shipped_scrape_config_is_valid_for_promtool() -> None:
    promtool = need_binary(PROMTOOL)
    done = subprocess.run(
        [promtool, "check", "config", str(EXAMPLE)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    text = EXAMPLE.read_text(encoding="utf-8")
    for job in ("finpilot-router", "finpilot-payments", "finpilot-console"):
        assert f"job_name: {job}" in text
