"""``finpilot traffic csv`` and the one generator behind it: deterministic, labelled, shiftable."""

from __future__ import annotations

import csv
import itertools
from pathlib import Path

import pytest
from typer.testing import CliRunner

from finpilot.cli import app
from finpilot.core import InputError
from finpilot.fraud import Shift, iter_payments
from finpilot.fraud._traffic._synthetic import SCENARIOS

SCHEMA = ["TRANSACTION_ID", "TX_DATETIME", "CUSTOMER_ID", "TERMINAL_ID", "TX_AMOUNT", "TX_FRAUD", "TX_FRAUD_SCENARIO"]


def _csv(tmp_path: Path, name: str, *args: str) -> Path:
    path = tmp_path / name
    result = CliRunner().invoke(app, ["traffic", "csv", "--out", str(path), *args])
    assert result.exit_code == 0, result.output
    return path


def test_the_csv_is_deterministic_per_seed_and_has_the_schema(tmp_path: Path) -> None:
    args = ("--days", "20", "--customers", "60", "--terminals", "120", "--seed", "5")
    first = _csv(tmp_path, "a.csv", *args)
    second = _csv(tmp_path, "b.csv", *args)
    other = _csv(tmp_path, "c.csv", *args[:-1], "6")
    assert first.read_bytes() == second.read_bytes()
    assert first.read_bytes() != other.read_bytes()
    with first.open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert set(SCHEMA) <= set(rows[0])
    assert [int(r["TRANSACTION_ID"]) for r in rows] == list(range(len(rows)))
    assert [r["TX_DATETIME"] for r in rows] == sorted(r["TX_DATETIME"] for r in rows)
    assert all(r["TX_FRAUD"] == str(int(r["TX_FRAUD_SCENARIO"] != "0")) for r in rows)


def test_the_three_fraud_scenarios_appear_at_plausible_rates() -> None:
    rows = list(iter_payments(customers=300, terminals=600, days=60, seed=2, compromised_customers_per_day=1.0))
    share = {s: sum(p.scenario == s for p in rows) / len(rows) for s in SCENARIOS}
    assert 0.9 < share[0] < 0.995  # the handbook has under 1 % fraud; ours is denser but still rare
    assert all(share[s] > 0 for s in (1, 2, 3)), share
    assert all(p.amount > 220 for p in rows if p.scenario == 1)
    assert all(p.amount <= 220 for p in rows if p.scenario == 0)


def test_the_fraud_rate_option_sets_the_steady_state_share(tmp_path: Path) -> None:
    path = _csv(tmp_path, "f.csv", "--days", "60", "--customers", "200", "--terminals", "400", "--fraud-rate", "0.05")
    with path.open(newline="") as fh:
        rows = [r for r in csv.DictReader(fh) if int(r["TX_TIME_DAYS"]) >= 30]  # after the 28-day ramp-up
    injected = sum(r["TX_FRAUD_SCENARIO"] in {"2", "3"} for r in rows) / len(rows)
    assert 0.02 < injected < 0.10, injected


def test_a_shorter_stream_is_a_prefix_and_a_neutral_shift_changes_nothing() -> None:
    short = list(iter_payments(customers=30, terminals=60, days=5, seed=1))
    long = list(itertools.islice(iter_payments(customers=30, terminals=60, days=None, seed=1), len(short) + 10))
    assert long[: len(short)] == short
    assert list(iter_payments(customers=30, terminals=60, days=5, seed=1, shift=Shift.parse(""))) == short


def test_amount_scale_shifts_the_amounts() -> None:
    base = list(iter_payments(customers=100, terminals=200, days=10, seed=4))
    shifted = list(iter_payments(customers=100, terminals=200, days=10, seed=4, shift=Shift.parse("amount_scale=2")))
    genuine = [p.amount for p in base if p.scenario == 0]
    moved = [p.amount for p in shifted if p.scenario in {0, 1}]
    assert sum(moved) / len(moved) > 1.7 * sum(genuine) / len(genuine)


@pytest.mark.parametrize("text", ["amount_scale", "bogus=1", "amount_scale=x", "rate_scale=-1", "amount_scale=inf"])
def test_a_bad_shift_is_an_input_error_naming_the_option(text: str) -> None:
    with pytest.raises(InputError) as caught:
        Shift.parse(text)
    assert caught.value.field == "--shift"


@pytest.mark.parametrize(
    ("args", "option"),
    [
        (["--days", "0"], "--days"),
        (["--customers", "0"], "--customers"),
        (["--fraud-rate", "0.9"], "--fraud-rate"),
        (["--shift", "bogus=2"], "--shift"),
    ],
)
def test_bad_csv_arguments_exit_2_naming_the_option(tmp_path: Path, args: list[str], option: str) -> None:
    result = CliRunner().invoke(app, ["traffic", "csv", "--out", str(tmp_path / "x.csv"), *args])
    assert result.exit_code == 2, result.output
    assert option in result.output
