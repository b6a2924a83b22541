"""``finpilot demo --part delivery`` against a real ``finpilot up``.

A pipeline run builds two releases, the good one is promoted, the bad one rolled back, and the
console's Rollouts and Pipelines APIs show them."""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from cli_helpers import Invoke, finpilot_argv
from up_process import env_for, running_up

from finpilot.audit import open_ledger
from finpilot.cli._demo_delivery import BAD, DEMO_ROLLOUT, GOOD, TOTAL_RATE, extra_rate, write_pipeline
from finpilot.core import demo_settings
from finpilot.deliver import load_pipeline
from finpilot.heal import RuntimeClient, state_dir_for

# The tour is meant to take about 2.5 minutes on 2 shared cores; the bound leaves room for a loaded machine.
TOUR_BOUND_S = 240.0


def _get(console: str, path: str, token: str) -> Any:
    answer = httpx.get(f"{console}{path}", headers={"Authorization": f"Bearer {token}"}, timeout=30)
    assert answer.status_code == 200, answer.text
    return answer.json()


@pytest.mark.slow
def test_the_delivery_tour_promotes_the_good_release_and_rolls_the_bad_one_back(tmp_path: Path) -> None:
    with running_up(tmp_path) as up:
        began = time.monotonic()
        tour = subprocess.run(
            [*finpilot_argv(), "--data-dir", str(up.data_dir), "demo", "--part", "delivery", "--json"],
            check=False,
            cwd=tmp_path,
            env=env_for(tmp_path),
            capture_output=True,
            text=True,
            timeout=600,
        )
        took = time.monotonic() - began
        print(tour.stderr)  # the tour's narration, with the verdicts' statistics (-s shows it)
        print(f"tour wall time: {took:.1f} s")
        assert tour.returncode == 0, tour.stdout + tour.stderr
        report = json.loads(tour.stdout)
        rollouts = _get(up.console, "/api/v1/rollouts", up.admin_token)["rollouts"]
        good = _get(up.console, f"/api/v1/rollouts/{GOOD}", up.admin_token)
        bad = _get(up.console, f"/api/v1/rollouts/{BAD}", up.admin_token)
        runs = _get(up.console, "/api/v1/pipelines/runs", up.admin_token)["runs"]
        page = httpx.get(f"{up.console}/rollouts", headers={"Authorization": f"Bearer {up.admin_token}"}, timeout=30)
        # After the promotion the stable replicas run the good release, and the bad one's arms are gone.
        client = RuntimeClient(state_dir_for(up.data_dir))
        arms = client.arm_status("payments")
        stable_env, _ = client.stable_spec("payments")
        # ... and the processes too, not only the spec (each replica forks from a zygote with its env).
        running = [
            Path(f"/proc/{rep['pid']}/environ").read_bytes().split(b"\0")
            for rep in client.status()["replicas"].values()
            if rep["service"] == "payments"
        ]
    assert up.returncode == 0, up.stderr
    assert took < TOUR_BOUND_S

    assert report["part"] == "delivery"
    assert report["steps"] == []  # the healing part did not run
    delivery = report["delivery"]
    assert delivery["ok"] is True
    assert delivery["extra_rate"] == TOTAL_RATE - 20.0  # `up`'s default traffic, topped up
    assert delivery["pipeline"]["status"] == "passed"
    assert set(delivery["pipeline"]["steps"].values()) == {"passed"}
    by_release = {r["release"]: r for r in delivery["rollouts"]}
    assert by_release[GOOD]["phase"] == "promoted"
    assert by_release[BAD]["phase"] == "rolled-back"
    assert by_release[BAD]["verdict"] == "fail"
    errors = next(m for m in by_release[BAD]["metrics"] if m["name"] == "error_rate")
    assert errors["outcome"] == "fail"
    assert errors["p_value"] is not None
    assert errors["p_value"] < 0.01
    for r in by_release.values():
        assert r["traffic_to_verdict_s"] is not None
        assert 0 < r["traffic_to_verdict_s"] < 60
        assert r["metrics"]
        assert r["page"].endswith(f"/rollouts?id={r['release']}")
    assert "p = " in tour.stderr
    assert "effect" in tour.stderr

    listed = {r["id"]: r for r in rollouts}
    assert listed[GOOD]["phase"] == "promoted"
    assert listed[GOOD]["last_verdict"] == "pass"
    assert listed[BAD]["phase"] == "rolled-back"
    assert listed[BAD]["last_verdict"] == "fail"
    assert good["analyses"]
    assert bad["analyses"]
    assert any(m["p_value"] is not None for m in bad["analyses"][-1]["metrics"])
    assert page.status_code == 200
    assert GOOD in page.text
    assert BAD in page.text
    run = next(r for r in runs if r["id"] == delivery["pipeline"]["run"])
    assert run["pipeline"] == "payments-demo"
    assert run["status"] == "passed"
    assert arms.keys() == {"stable"}
    assert stable_env["PAYMENTS_VERSION"] == GOOD
    assert len(running) == 2
    for environ in running:
        assert f"PAYMENTS_VERSION={GOOD}".encode() in environ

    with open_ledger(demo_settings(up.data_dir)) as ledger:
        entries = [e.fields for e in ledger.tail(min(ledger.size, 10_000))]
    kinds = {(e["kind"], e["subject"]) for e in entries}
    assert ("deliver.pipeline_run", "pipeline:payments-demo") in kinds
    assert {("deliver.analysis", f"release:{GOOD}"), ("deliver.analysis", f"release:{BAD}")} <= kinds
    actions = [(e["subject"], e["action"]) for e in entries if e["kind"] == "deliver.rollout"]
    assert (f"release:{GOOD}", "promote") in actions
    assert (f"release:{BAD}", "rollback") in actions


def test_the_demo_pipeline_is_valid_and_builds_both_releases(tmp_path: Path) -> None:
    path = write_pipeline(tmp_path / "work")
    pipeline = load_pipeline(path)  # validated like any pipeline file
    document = yaml.safe_load(path.read_text(encoding="utf-8"))
    steps = document["pipeline"]["steps"]
    assert {name: step["type"] for name, step in steps.items()} == {
        "build": "run",
        "sign-good": "sign",
        "provenance-good": "provenance",
        "sign-bad": "sign",
        "provenance-bad": "provenance",
    }
    assert pipeline is not None
    releases = json.loads((tmp_path / "work" / "releases.json").read_text(encoding="utf-8"))
    assert releases[GOOD] == {}
    assert float(releases[BAD]["PAYMENTS_FAULT_ERROR_RATE"]) > 0


def test_the_tour_uses_the_rollout_config_the_acceptance_tests_found_reliable() -> None:
    assert [(s.weight, s.pause_s) for s in DEMO_ROLLOUT.steps] == [(25, 15), (40, 15)]
    assert DEMO_ROLLOUT.policy.failure_limit == 2
    assert DEMO_ROLLOUT.judge.min_requests == 100


@pytest.mark.parametrize(("sent", "added"), [(20.0, 30.0), (5.0, 45.0), (80.0, 0.0), (None, 50.0)])
def test_the_tour_tops_the_traffic_up_to_what_the_judge_needs(sent: float | None, added: float) -> None:
    assert extra_rate({} if sent is None else {"traffic_rate": sent}) == added


def test_an_unknown_part_is_bad_input(invoke: Invoke) -> None:
    result = invoke("demo", "--part", "deploy")
    assert result.exit_code == 2
    assert "--part" in result.output
    assert "all, heal, watch, delivery or surge" in result.output
