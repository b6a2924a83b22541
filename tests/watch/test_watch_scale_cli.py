"""``finpilot watch autoscale-sim`` and ``finpilot watch forecast`` on small traces made here."""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path

import pytest
from typer.testing import CliRunner

from finpilot.cli import app

RUNNER = CliRunner()
SHARED_NAB = Path(__file__).resolve().parents[3] / "shared" / "data" / "nab" / "data"


def daily_trace(path: Path, days: int = 2, skip: frozenset[int] = frozenset()) -> Path:
    rows = ["timestamp,value"]
    for i in range(days * 288):
        if i in skip:
            continue
        minutes = 5 * i
        stamp = f"2014-04-{10 + minutes // 1440:02d} {minutes % 1440 // 60:02d}:{minutes % 60:02d}:00"
        rows.append(f"{stamp},{50 + 40 * math.sin(2 * math.pi * i / 288):.3f}")
    path.write_text("\n".join(rows) + "\n")
    return path


def test_autoscale_sim_prints_every_policy_and_writes_replayable_decisions(tmp_path: Path) -> None:
    trace = daily_trace(tmp_path / "daily.csv", skip=frozenset({100, 101}))
    decisions = tmp_path / "decisions.csv"
    result = RUNNER.invoke(
        app, ["watch", "autoscale-sim", "--trace", str(trace), "--json", "--decisions-out", str(decisions)]
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert set(data) >= {"trace", "model", "policies"}
    assert set(data["policies"]) == {"predictive", "hpa", "oracle"}
    for figures in data["policies"].values():
        assert set(figures) >= {"violation_minutes", "replica_hours", "ratio_to_oracle", "actions"}
    assert data["policies"]["oracle"]["violation_minutes"] == 0
    assert data["policies"]["oracle"]["ratio_to_oracle"] == 1.0
    assert data["trace"]["gaps"]["count"] == 1
    assert data["model"]["startup_s"] == 60
    with decisions.open() as handle:
        rows = list(csv.reader(handle))
    assert rows[0] == ["timestamp", "replicas"]
    assert len(rows) - 1 == data["trace"]["steps"]
    assert int(float(rows[2][0])) - int(float(rows[1][0])) == 15


def test_autoscale_sim_prints_a_table_for_people(tmp_path: Path) -> None:
    result = RUNNER.invoke(app, ["watch", "autoscale-sim", "--trace", str(daily_trace(tmp_path / "d.csv", days=1))])
    assert result.exit_code == 0, result.output
    for word in ("predictive", "hpa", "oracle", "replica-hours"):
        assert word in result.stdout


def test_a_trace_with_a_long_gap_exits_2_naming_the_rows(tmp_path: Path) -> None:
    trace = daily_trace(tmp_path / "gappy.csv", skip=frozenset(range(50, 80)))
    result = RUNNER.invoke(app, ["watch", "autoscale-sim", "--trace", str(trace), "--json"])
    assert result.exit_code == 2
    assert "after line 51" in result.stderr
    assert "split the trace" in result.stderr
    error = json.loads(result.stdout)
    assert error["error"] == "TraceError"
    assert error["field"] == "timestamp"


def test_forecast_prints_points_with_intervals(tmp_path: Path) -> None:
    trace = daily_trace(tmp_path / "daily.csv", days=3)
    result = RUNNER.invoke(app, ["watch", "forecast", "--trace", str(trace), "--horizon", "6", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["horizon"] == 6
    assert data["step_s"] == 300
    assert len(data["points"]) == 6
    first = data["points"][0]
    assert first["lower"] <= first["mean"] <= first["upper"]
    # The series is a clean daily sine: the next value is its start again (about 50).
    assert first["mean"] == pytest.approx(50, abs=2)
    table = RUNNER.invoke(app, ["watch", "forecast", "--trace", str(trace), "--model", "holt"])
    assert table.exit_code == 0, table.output
    assert "holt" in table.stdout


def test_forecast_refuses_an_unknown_model(tmp_path: Path) -> None:
    result = RUNNER.invoke(
        app, ["watch", "forecast", "--trace", str(daily_trace(tmp_path / "d.csv", days=1)), "--model", "magic"]
    )
    assert result.exit_code == 2
    assert "unknown forecaster" in result.stderr


@pytest.mark.skipif(not (SHARED_NAB / "realAWSCloudwatch").is_dir(), reason="the shared NAB copy is optional")
def test_a_real_nab_trace_runs_end_to_end(tmp_path: Path) -> None:
    # A slice of a real trace (a day) keeps this quick; the whole traces run in bench_autoscale.
    source = SHARED_NAB / "realAWSCloudwatch" / "ec2_cpu_utilization_5f5533.csv"
    lines = source.read_text().splitlines()[:289]
    (tmp_path / "slice.csv").write_text("\n".join(lines) + "\n")
    result = RUNNER.invoke(app, ["watch", "autoscale-sim", "--trace", str(tmp_path / "slice.csv"), "--json"])
    assert result.exit_code == 0, result.output
    policies = json.loads(result.stdout)["policies"]
    assert policies["oracle"]["violation_minutes"] == 0
    assert policies["predictive"]["replica_hours"] <= policies["hpa"]["replica_hours"]
