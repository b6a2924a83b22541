"""``finpilot rollout ...``: a whole rollout through the CLI and the controller API, and its input errors."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
import yaml
from rollout_helpers import RATE, demo_stack, entries
from typer.testing import CliRunner, Result

from finpilot.cli import app
from finpilot.heal._chaos._traffic import TrafficRun


def _cli(config: Path, *args: str) -> Result:
    return CliRunner().invoke(app, ["--config", str(config), *args])


def _config(tmp: Path, data_dir: Path) -> Path:
    config = tmp / "finpilot.yaml"
    config.write_text(yaml.safe_dump({"data_dir": str(data_dir)}))
    return config


def test_input_errors_exit_2_and_name_the_field(tmp_path: Path) -> None:
    config = _config(tmp_path, tmp_path / "data")
    listed = _cli(config, "rollout", "list", "--json")
    assert listed.exit_code == 0, listed.output
    assert json.loads(listed.stdout) == {"rollouts": []}
    for args, field in (
        (["rollout", "status", "--json"], "rollout"),
        (["rollout", "start", "payments", "--release", "r1", "--set-env", "NOEQUALS", "--json"], "set-env"),
        (["rollout", "start", "payments", "--release", "r1", "--strategy", "yolo", "--json"], "strategy"),
        (["rollout", "start", "payments", "--release", "bad id!", "--json"], "release"),
    ):
        result = _cli(config, *args)
        assert result.exit_code == 2, (args, result.output)
        assert json.loads(result.stdout)["field"] == field
    assert _cli(config, "rollout", "promote", "nope").exit_code == 2


@pytest.mark.slow
def test_a_rollout_started_from_the_cli_is_promoted_through_the_controller_api(tmp_path: Path) -> None:
    rollout = tmp_path / "rollout.yaml"
    rollout.write_text(
        yaml.safe_dump(
            {
                "steps": [{"weight": 25, "pause_s": 4}],
                "analysis_interval_s": 2,
                "lookback_s": 10,
                "judge": {"min_requests": 20},
            }
        )
    )
    with demo_stack(tmp_path) as stack:
        config = _config(tmp_path, stack.data_dir)
        traffic = TrafficRun(stack.address, rate=RATE, run="cli", out=tmp_path / "t.jsonl", token_file=stack.token_file)
        traffic.start()
        try:
            started = _cli(
                config, "rollout", "start", "payments", "--release", "payments-cli", "--set-env", "X=1",
                "--config", str(rollout), "--json",
            )  # fmt: skip
        finally:
            time.sleep(0.5)
            traffic.stop()
        assert started.exit_code == 0, started.output
        record = json.loads(started.stdout)
        assert record["phase"] == "promoted"
        assert record["env"] == {"X": "1", "PAYMENTS_VERSION": "payments-cli"}
        listed = json.loads(_cli(config, "rollout", "list", "--json").stdout)["rollouts"]
        assert [(r["id"], r["phase"]) for r in listed] == [("payments-cli", "promoted")]
        shown = json.loads(_cli(config, "rollout", "status", "payments-cli", "--json").stdout)
        assert shown["analyses"]
        assert shown["analyses"][-1]["verdict"] == "pass"
        over = _cli(config, "rollout", "abort", "payments-cli", "--json")
        assert over.exit_code == 2
        assert stack.controller.runtime.services["payments"].env["X"] == "1"
        starts = [e for e in entries(stack.ledger, "deliver.rollout") if e["action"] == "start"]
        assert starts[0]["actor"].startswith("cli:")


def test_a_prometheus_url_that_is_not_http_stops_rollout_start_before_anything_runs(tmp_path: Path) -> None:
    # With watch.prometheus_url set, rollout start reads its arms from Prometheus: a URL it cannot
    # use is bad input naming the setting, before any rollout is recorded.
    config = tmp_path / "finpilot.yaml"
    config.write_text(
        yaml.safe_dump({"data_dir": str(tmp_path / "data"), "watch": {"prometheus_url": "ftp://prometheus:9090"}})
    )
    result = _cli(config, "rollout", "start", "payments", "--release", "r1", "--json")
    assert result.exit_code == 2, result.output
    assert json.loads(result.stdout)["field"] == "watch.prometheus_url"
    assert json.loads(_cli(config, "rollout", "list", "--json").stdout) == {"rollouts": []}
