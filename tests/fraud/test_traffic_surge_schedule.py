"""Traffic on a "market open" schedule: more payments inside the surge, its latency reported apart."""

from __future__ import annotations

import asyncio
import itertools
import time

import httpx

from finpilot.fraud import TrafficConfig, run_traffic_async
from finpilot.watch import RateSchedule


def _service() -> tuple[httpx.MockTransport, list[float]]:
    """Approves everything; remembers when each authorization arrived."""
    ids = itertools.count()
    arrived: list[float] = []

    def handle(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/v1/cards":
            return httpx.Response(201, json={"token": f"tok_{next(ids)}"})
        if request.url.path == "/v1/authorizations":
            arrived.append(time.time())
            return httpx.Response(201, json={"id": f"auth_{next(ids)}", "flagged": False})
        return httpx.Response(201, json={"id": f"id_{next(ids)}"})

    return httpx.MockTransport(handle), arrived


def test_the_surge_sends_factor_times_the_base_rate_and_is_reported_on_its_own() -> None:
    transport, arrived = _service()
    # A 2 s day: 1 s at 40/s, then 1 s of surge at 160/s; send for one whole day.
    origin = time.time() + 0.2
    schedule = RateSchedule(base=40, period_s=2.0, surge_at_s=1.0, surge_s=1.0, factor=4.0, origin=origin)
    config = TrafficConfig(
        url="http://payments.test", schedule=schedule, duration_s=2.6, customers=3, terminals=3, capture_share=0.0
    )
    report = asyncio.run(run_traffic_async(config, transport=transport))
    (surge,) = [s for s in report["surges"] if abs(s["start"] - (origin + 1.0)) < 1e-3]
    inside = sum(1 for t in arrived if surge["start"] <= t < surge["end"])
    outside = sum(1 for t in arrived if origin <= t < surge["start"])
    assert 120 <= inside <= 170
    assert 25 <= outside <= 45
    assert surge["answered"] >= 120
    assert surge["latency_ms"]["p99"] is not None
    assert report["errors"] == 0
