"""Acceptance 5: a real Prometheus scrapes the demo stack; the query layer, the judge and the console read it.

The demo runtime runs payments (2 stable replicas behind the router) with two release arms: a
``baseline`` arm and a ``canary`` arm that answers 30 % of its ``/v1/`` requests 503
(``PAYMENTS_FAULT_ERROR_RATE``). Prometheus' config is generated from
:func:`finpilot.heal.runtime_scrape_targets` (the router's ``/-/metrics`` and every replica's
``/metrics``), payment traffic flows through the router, and then, with ``watch.prometheus_url``
set:

(a) the query layer (:func:`prometheus_query_from_settings`) returns the router's request rate and
    p99 per replica;
(b) the canary judge, reading both arms through :class:`MetricsSampleSource`, fails the canary on
    its error rate (an error share does not depend on how loaded the machine is; a latency fault
    would);
(c) the console's Metrics page and ``/api/v1/watch/query`` read the same Prometheus.

Fails (never skips) without ``/usr/bin/prometheus``.
"""

from __future__ import annotations

import contextlib
import math
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from starlette.testclient import TestClient
from watch_prom_helpers import PROMETHEUS, need_binary, running_prometheus, wait_for

from finpilot.audit import Ledger, open_ledger
from finpilot.console import create_app, open_token_store
from finpilot.core import FakeClock, Settings, WatchSettings
from finpilot.deliver import JudgeConfig, MetricsSampleSource, judge
from finpilot.heal import (
    ArmSpec,
    Controller,
    LocalRuntime,
    demo_payments_token,
    demo_runtime,
    mint_demo_payments_token,
    runtime_scrape_targets,
)
from finpilot.heal._chaos._traffic import TrafficRun
from finpilot.watch import ScrapeTarget, prometheus_query_from_settings

pytestmark = pytest.mark.slow  # the demo runtime, a real Prometheus and traffic: about a minute

RATE = 30.0  # payment requests a second through the router
WINDOW = 30.0  # seconds of traffic the judge reads
FAULTY = {"PAYMENTS_FAULT_ERROR_RATE": "0.3"}
ROUTER = 'finpilot_router_requests_total{service="payments"}'
FIVES = 'finpilot_router_responses_total{service="payments", code="5xx"}'


@dataclass
class Stack:
    """The running demo runtime: its controller, ledger, data directory and the router's address."""

    controller: Controller
    ledger: Ledger
    data_dir: Path
    address: tuple[str, int]


@contextlib.contextmanager
def demo_stack(tmp: Path) -> Iterator[Stack]:
    """The demo runtime (payments, 2 replicas behind the router) in ``tmp``, once both replicas serve."""
    data_dir = tmp / "data"
    ledger = open_ledger(Settings(data_dir=data_dir))
    mint_demo_payments_token(data_dir)
    try:
        with LocalRuntime(demo_runtime(data_dir), data_dir, ledger) as local:
            controller = local.controller
            wait_for(lambda: controller.status()["services"]["payments"]["ready"], lambda n: n >= 2, timeout=90)
            host, port = controller.status()["services"]["payments"]["router"]
            yield Stack(controller, ledger, data_dir, (str(host), int(port)))
    finally:
        ledger.close()


def prometheus_config(targets: Iterable[ScrapeTarget], interval: str = "1s") -> str:
    """A Prometheus config scraping ``targets``: one job per (job, path), each target with its own labels."""
    jobs: dict[tuple[str, str], list[ScrapeTarget]] = {}
    for target in targets:
        jobs.setdefault((target.job, urlsplit(target.url).path or "/metrics"), []).append(target)
    lines = [f"global:\n  scrape_interval: {interval}\n  evaluation_interval: {interval}\nscrape_configs:"]
    for i, ((job, path), group) in enumerate(sorted(jobs.items())):
        lines += [f"  - job_name: '{job}-{i}'", f"    metrics_path: '{path}'", "    static_configs:"]
        for target in group:
            labels = {"job": job, **dict(target.labels)}
            lines.append(f"      - targets: ['{urlsplit(target.url).netloc}']")
            lines.append("        labels: {" + ", ".join(f"{k}: '{v}'" for k, v in sorted(labels.items())) + "}")
    return "\n".join(lines) + "\n"


def test_prometheus_scraping_the_demo_stack_feeds_the_query_layer_the_judge_and_the_console(tmp_path: Path) -> None:
    need_binary(PROMETHEUS)  # before minutes of setup
    with demo_stack(tmp_path) as stack:
        platform = stack.controller
        platform.set_arms("payments", {"baseline": ArmSpec(replicas=1), "canary": ArmSpec(FAULTY, replicas=1)})
        wait_for(
            lambda: platform.arm_status("payments"),
            lambda arms: all(arms.get(a, {}).get("ready", 0) >= 1 for a in ("baseline", "canary")),
            timeout=90,
            what="both arms ready",
        )
        platform.set_shares("payments", {"stable": 30, "baseline": 35, "canary": 35})
        # The router and all four replicas (2 stable, 1 baseline, 1 canary), once all of them run.
        targets = wait_for(
            lambda: runtime_scrape_targets(stack.controller.status()),
            lambda found: len(found) == 5,
            timeout=60,
            what="the router and 4 running replicas",
        )
        config = prometheus_config(targets)
        with running_prometheus(tmp_path / "prom", config) as url:
            settings = Settings(data_dir=stack.data_dir, watch=WatchSettings(prometheus_url=url))
            query = prometheus_query_from_settings(settings.watch)
            assert query is not None
            with query:  # closes its connection pool
                traffic = TrafficRun(
                    stack.address,
                    rate=RATE,
                    run="acceptance-5",
                    out=tmp_path / "traffic.jsonl",
                    token_file=Path(str(demo_payments_token(stack.data_dir).file)),
                )
                traffic.start()
                try:
                    started = time.time()
                    # Every target scraped, then a whole judging window of traffic.
                    wait_for(
                        lambda: query.series("up", time.time() - 30, time.time()),
                        lambda found: len(found) == 5,
                        timeout=60,
                        what="every target scraped",
                    )
                    time.sleep(max(0.0, started + WINDOW + 3 - time.time()))
                    now = time.time()

                    # (a) the query layer: the router's request rate and p99, per replica.
                    rates = query.aggregate("sum", ROUTER, now - 10, now, 1.0, by=("backend",), rate_window=5.0)
                    backends = {s.labels["backend"] for s in rates}
                    assert any(b.startswith("payments-canary/") for b in backends), backends
                    assert any(b.startswith("payments-baseline/") for b in backends), backends
                    assert sum(1 for b in backends if b.startswith("payments/")) == 2, backends
                    total = sum(s.points[-1][1] for s in rates if s.points)
                    assert 0.3 * RATE < total < 3 * RATE, (total, rates)
                    p99 = query.histogram_quantile(
                        0.99,
                        'finpilot_router_upstream_seconds_bucket{service="payments"}',
                        now - 10,
                        now,
                        1.0,
                        10.0,
                        by=("backend",),
                    )
                    assert {s.labels["backend"] for s in p99} == backends
                    for series in p99:
                        values = [v for _, v in series.points if not math.isnan(v)]
                        assert values, series
                        assert all(0 < v <= 10.0 for v in values), series
                    # The canary's 503s reach Prometheus as the router's 5xx responses.
                    fives = query.series(
                        'finpilot_router_responses_total{service="payments", code="5xx"}', now - 30, now
                    )
                    assert any(s.labels["backend"].startswith("payments-canary/") for s in fives), fives

                    # (b) the judge through MetricsSampleSource over the same Prometheus.
                    found = MetricsSampleSource(query).samples("payments", window_s=WINDOW)
                    assert found.description.startswith(f"metrics:prometheus:{url}")
                    assert len(found.baseline) > 0.1 * RATE * WINDOW, len(found.baseline)
                    assert len(found.canary) > 0.1 * RATE * WINDOW, len(found.canary)
                    canary_errors = float(found.canary.error.mean())
                    assert 0.15 < canary_errors < 0.45, canary_errors
                    assert float(found.baseline.error.mean()) < 0.05
                    verdict = judge(found.baseline, found.canary, JudgeConfig())
                    assert verdict.verdict == "fail", verdict.reason
                    assert "error_rate" in {m.name for m in verdict.metrics if m.outcome == "fail"}

                    # (c) the console reads the same Prometheus: the query API and the Metrics page.
                    with open_token_store(settings, clock=FakeClock()) as tokens:
                        _info, token = tokens.create("viewer-user", "viewer")
                        app = create_app(settings, stack.ledger, tokens, metrics_query=query)
                        with TestClient(app, base_url="http://testserver") as client:
                            params: dict[str, str | float] = {
                                "selector": ROUTER,
                                "kind": "rate",
                                "op": "sum",
                                "by": "backend",
                                "start": now - 10,
                                "end": now,
                                "step": 5,
                            }
                            answer = client.get(
                                "/api/v1/watch/query", params=params, headers={"Authorization": f"Bearer {token}"}
                            )
                            assert answer.status_code == 200, answer.text
                            body = answer.json()
                            assert body["backend"] == f"prometheus:{url}"
                            assert {s["labels"]["backend"] for s in body["series"]} == backends
                            client.post(
                                "/login",
                                data={"token": token, "next": "/watch/metrics"},
                                headers={"Origin": "http://testserver"},
                            )
                            page = client.get(
                                "/watch/metrics",
                                params={"selector": ROUTER, "kind": "rate", "by": "backend", "start": now - 60},
                            ).text
                            assert f"prometheus:{url}" in page
                            assert "payments-canary/" in page
                            assert "<polyline" in page
                except BaseException:
                    traffic.kill()
                    raise
                traffic.stop()
