"""The payments example's fault knobs: off by default, checked, and only on /v1/ requests."""

from __future__ import annotations

import asyncio
import random
from typing import Any

import pytest
from finpilot_payments._errors import InputError
from finpilot_payments._faults import FaultKnobs, Faults
from finpilot_payments._settings import PaymentsSettings


def test_off_by_default_and_read_from_the_environment() -> None:
    assert not PaymentsSettings.from_env({}).faults.active
    knobs = PaymentsSettings.from_env(
        {"PAYMENTS_FAULT_ERROR_RATE": "0.05", "PAYMENTS_FAULT_SLOW_RATE": "1", "PAYMENTS_FAULT_SLOW_MS": "40"}
    ).faults
    assert knobs == FaultKnobs(error_rate=0.05, slow_rate=1.0, slow_ms=40.0)


@pytest.mark.parametrize("value", ["1.5", "-0.1", "nan", "lots"])
def test_bad_values_name_the_variable(value: str) -> None:
    with pytest.raises(InputError) as err:
        PaymentsSettings.from_env({"PAYMENTS_FAULT_ERROR_RATE": value})
    assert err.value.field == "PAYMENTS_FAULT_ERROR_RATE"


def _serve(knobs: FaultKnobs, path: str, n: int) -> tuple[list[int], int]:
    reached = [0]

    async def app(scope: Any, receive: Any, send: Any) -> None:
        reached[0] += 1
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    statuses: list[int] = []

    async def send(message: Any) -> None:
        if message["type"] == "http.response.start":
            statuses.append(message["status"])

    middleware = Faults(app, knobs, rng=random.Random(7))

    async def main() -> None:
        for _ in range(n):
            await middleware({"type": "http", "path": path}, None, send)

    asyncio.run(main())
    return statuses, reached[0]


def test_the_error_share_is_answered_503_before_the_app_runs() -> None:
    statuses, reached = _serve(FaultKnobs(error_rate=0.1), "/v1/transfers", 2000)
    failed = statuses.count(503)
    assert 140 <= failed <= 260
    assert reached == 2000 - failed
    assert _serve(FaultKnobs(error_rate=1.0), "/healthz", 50)[0] == [200] * 50
