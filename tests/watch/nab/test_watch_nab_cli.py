"""``finpilot watch nab`` and ``finpilot watch detectors``: output shapes and input errors."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from finpilot.cli import app

TINY = Path(__file__).parent / "data" / "tiny"


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_nab_json_has_the_three_scores_files_and_throughput(tmp_path: Path) -> None:
    code, stdout, _ = run(
        "watch",
        "nab",
        "--data",
        str(TINY),
        "--detector",
        "windowed-gaussian",
        "--jobs",
        "1",
        "--results-out",
        str(tmp_path),
        "--json",
    )
    assert code == 0
    doc = json.loads(stdout)
    assert doc["detector"] == "windowed-gaussian"
    for key in ("standard", "reward_low_FP_rate", "reward_low_FN_rate"):
        assert 0 <= doc[key] <= 100
        assert key in doc["thresholds"]
    assert [f["file"] for f in doc["files"]] == ["groupA/one.csv", "groupB/two.csv"]
    assert doc["files"][0]["rows"] == 300
    assert doc["files"][0]["windows"] == 2
    assert doc["points"] == 540
    assert doc["jobs"] == 1
    assert doc["points_per_s"] > 0
    # The written results re-score to the same numbers.
    code, stdout, _ = run("watch", "nab", "--data", str(TINY), "--score-only", str(tmp_path), "--json")
    assert code == 0
    again = json.loads(stdout)
    assert again["standard"] == doc["standard"]
    assert again["reward_low_FN_rate"] == doc["reward_low_FN_rate"]


def test_nab_people_output_is_a_table() -> None:
    code, stdout, _ = run("watch", "nab", "--data", str(TINY), "--detector", "null", "--jobs", "1")
    assert code == 0
    assert "NAB score: null" in stdout
    assert "reward_low_FN_rate" in stdout


def test_a_fixed_threshold_is_used_for_every_profile() -> None:
    code, stdout, _ = run("watch", "nab", "--data", str(TINY), "--jobs", "1", "--threshold", "0.999", "--json")
    assert code == 0
    assert set(json.loads(stdout)["thresholds"].values()) == {0.999}


def test_an_unknown_detector_exits_2_naming_the_known_ones() -> None:
    code, stdout, stderr = run("watch", "nab", "--data", str(TINY), "--detector", "nope", "--json")
    assert code == 2
    error = json.loads(stdout)
    assert error["error"] == "UnknownDetectorError"
    assert "windowed-gaussian" in error["fix"]
    assert "no detector named 'nope'" in stderr


def test_a_malformed_nab_directory_exits_2_with_the_fix(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    code, stdout, stderr = run("watch", "nab", "--data", str(tmp_path), "--json")
    assert code == 2
    assert json.loads(stdout)["error"] == "NabDataError"
    assert "combined_windows.json" in stderr


def test_detectors_lists_the_registry() -> None:
    code, stdout, _ = run("watch", "detectors", "--json")
    assert code == 0
    assert {"null", "windowed-gaussian"} <= set(json.loads(stdout)["detectors"])
    code, stdout, _ = run("watch", "detectors")
    assert code == 0
    assert "WindowedGaussian" in stdout


def test_thresholds_can_be_fixed_per_profile() -> None:
    args = ["watch", "nab", "--data", str(TINY), "--jobs", "1", "--json"]
    code, stdout, _ = run(*args, "--threshold", "0.9", "--threshold", "reward_low_FN_rate=0.99")
    assert code == 0
    assert json.loads(stdout)["thresholds"] == {
        "standard": 0.9,
        "reward_low_FP_rate": 0.9,
        "reward_low_FN_rate": 0.99,
    }
    code, _, stderr = run(*args, "--threshold", "nope=0.5")
    assert code == 2
    assert "unknown profile 'nope'" in stderr
