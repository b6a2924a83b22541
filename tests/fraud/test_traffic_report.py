"""The traffic report against an in-memory service (httpx MockTransport): outcomes land per pattern."""

from __future__ import annotations

import asyncio
import csv
import itertools
import json
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from finpilot.cli import app
from finpilot.core import InputError
from finpilot.fraud import Shift, TrafficConfig, generate_payments, run_traffic_async
from finpilot.fraud._traffic._synthetic import SCENARIOS


def _fake_service() -> tuple[httpx.MockTransport, dict[str, int]]:
    """Declines amounts over 220.00, reviews 150.00 to 220.00, approves the rest; counts the calls."""
    ids = itertools.count()
    calls: dict[str, int] = {}

    def handle(request: httpx.Request) -> httpx.Response:
        assert request.headers.get("Idempotency-Key")
        path = request.url.path
        name = "capture" if path.endswith("/capture") else path.split("/")[2]
        calls[name] = calls.get(name, 0) + 1
        body = json.loads(request.content or b"{}")
        if path == "/v1/cards":
            return httpx.Response(201, json={"token": f"tok_{next(ids)}", "last4": "0000"})
        if path == "/v1/authorizations":
            flagged = 15_000 <= body["amount"] <= 22_000
            status = 402 if body["amount"] > 22_000 else 201
            return httpx.Response(status, json={"id": f"auth_{next(ids)}", "flagged": flagged})
        return httpx.Response(201, json={"id": f"id_{next(ids)}"})

    return httpx.MockTransport(handle), calls


def test_outcomes_are_counted_per_injected_pattern() -> None:
    transport, calls = _fake_service()
    config = TrafficConfig(
        url="http://payments.test",
        rate=2000,
        duration_s=0.5,
        customers=30,
        terminals=60,
        seed=3,
        shift=Shift(amount_scale=2.5),  # many amounts over 220: scenario 1
        capture_share=1.0,
    )
    report = asyncio.run(run_traffic_async(config, transport=transport))
    assert report["sent"] == 1000
    assert report["errors"] == 0
    by = report["scenarios"]
    assert by["amount_over_220"]["sent"] > 0
    assert by["amount_over_220"]["declined"] == by["amount_over_220"]["sent"]
    assert by["genuine"]["declined"] == 0
    assert report["reviewed"] > 0
    assert report["captured"] == report["approved"] + report["reviewed"] == calls["capture"]
    assert calls["authorizations"] == report["sent"]
    assert calls["cards"] == 30
    assert calls["transfers"] == 30


def test_a_csv_is_replayed_in_file_order_with_its_labels(tmp_path: Path) -> None:
    path = tmp_path / "pay.csv"
    generate_payments(path, customers=20, terminals=40, days=10, seed=5, compromised_terminals_per_day=1.0)
    with path.open(newline="") as fh:
        rows = list(csv.DictReader(fh))[:300]
    transport, calls = _fake_service()
    out = tmp_path / "pop.json"
    config = TrafficConfig(url="http://payments.test", rate=3000, duration_s=0.1, csv_path=path, population_out=out)
    report = asyncio.run(run_traffic_async(config, transport=transport))
    assert report["sent"] == 300 == calls["authorizations"]
    for scenario, name in SCENARIOS.items():
        assert report["scenarios"][name]["sent"] == sum(r["TX_FRAUD_SCENARIO"] == str(scenario) for r in rows)
    population = json.loads(out.read_text())
    assert set(population["customers"]) == {r["CUSTOMER_ID"] for r in rows}
    assert set(population["terminals"]) == {r["TERMINAL_ID"] for r in rows}
    assert calls["cards"] == len(population["customers"])


def test_a_csv_without_scenarios_reports_fraud_as_one_pattern(tmp_path: Path) -> None:
    path = tmp_path / "plain.csv"
    path.write_text("CUSTOMER_ID,TERMINAL_ID,TX_AMOUNT,TX_FRAUD\na,t1,10.00,0\nb,t2,20.00,1\na,t2,5.50,1\n")
    transport, _calls = _fake_service()
    config = TrafficConfig(url="http://payments.test", rate=1000, duration_s=1, csv_path=path)
    report = asyncio.run(run_traffic_async(config, transport=transport))
    assert report["sent"] == 3
    assert report["scenarios"]["fraud"]["sent"] == 2
    assert report["scenarios"]["genuine"]["sent"] == 1
    assert report["population"]["customers"] == 2


@pytest.mark.parametrize(
    ("text", "column"),
    [
        ("CUSTOMER_ID,TERMINAL_ID,TX_FRAUD\na,t,0\n", "TX_AMOUNT"),
        ("CUSTOMER_ID,TERMINAL_ID,TX_AMOUNT,TX_FRAUD\na,t,-1,0\n", "TX_AMOUNT"),
        ("CUSTOMER_ID,TERMINAL_ID,TX_AMOUNT,TX_FRAUD\na,t,1,2\n", "TX_FRAUD"),
        ("CUSTOMER_ID,TERMINAL_ID,TX_AMOUNT,TX_FRAUD_SCENARIO\na,t,1,7\n", "TX_FRAUD_SCENARIO"),
    ],
)
def test_a_bad_csv_is_an_input_error_naming_the_column(tmp_path: Path, text: str, column: str) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(text)
    transport, calls = _fake_service()
    config = TrafficConfig(url="http://payments.test", rate=10, duration_s=1, csv_path=path)
    with pytest.raises(InputError) as caught:
        asyncio.run(run_traffic_async(config, transport=transport))
    assert caught.value.field == column
    assert not calls  # nothing was sent


def test_a_missing_csv_exits_2_naming_the_option(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app, ["traffic", "run", "--url", "http://127.0.0.1:9", "--csv", str(tmp_path / "none.csv")]
    )
    assert result.exit_code == 2, result.output
    assert "--csv" in result.output


def test_a_malformed_or_failed_authorization_counts_as_an_error() -> None:
    def handle(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/v1/authorizations":
            return (
                httpx.Response(201, text="not json")
                if request.headers["Idempotency-Key"][-1] in "02468"
                else (httpx.Response(503, json={"error": "StorageError"}))
            )
        if request.url.path == "/v1/cards":
            return httpx.Response(201, json={"token": "tok_1", "last4": "0000"})
        return httpx.Response(201, json={"id": "acc_1"})

    config = TrafficConfig(url="http://payments.test", rate=1000, duration_s=0.05, customers=3, terminals=3)
    report = asyncio.run(run_traffic_async(config, transport=httpx.MockTransport(handle)))
    assert report["sent"] == report["errors"] == 50
