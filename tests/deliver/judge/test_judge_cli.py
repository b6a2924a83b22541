"""``finpilot rollout judge``: the JSON shape, the exit codes, bad samples files, the audit entry."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from judge_helpers import arm, write_csv
from typer.testing import Result

from finpilot.audit import open_ledger
from finpilot.core import InputError, Settings
from finpilot.deliver import Samples

Invoke = Callable[..., Result]
GOOD = "timestamp,latency_ms,error\n"


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    """A baseline, a passing canary, a failing one (+7 points of errors) and a too-small one."""
    return {
        "baseline": write_csv(tmp_path / "b.csv", arm(1, 1200, decline_rate=0.05)),
        "good": write_csv(tmp_path / "g.csv", arm(2, 1200, decline_rate=0.05)),
        "bad": write_csv(tmp_path / "x.csv", arm(3, 1200, error_rate=0.08, decline_rate=0.05)),
        "small": write_csv(tmp_path / "s.csv", arm(4, 50, decline_rate=0.05)),
    }


@pytest.mark.parametrize(
    ("canary", "code", "verdict"), [("good", 0, "pass"), ("bad", 1, "fail"), ("small", 3, "inconclusive")]
)
def test_json_shape_and_exit_code_per_verdict(
    invoke: Invoke, files: dict[str, Path], canary: str, code: int, verdict: str
) -> None:
    result = invoke("rollout", "judge", "--baseline", str(files["baseline"]), "--canary", str(files[canary]), "--json")
    assert result.exit_code == code, result.output
    data = json.loads(result.stdout)
    assert data["verdict"] == verdict
    assert {"enough_data", "score", "reason", "baseline_requests", "canary_requests", "metrics", "step"} <= set(data)
    if verdict != "inconclusive":
        names = [m["name"] for m in data["metrics"]]
        assert names == [
            "error_rate",
            "latency_p50",
            "latency_p95",
            "latency_p99",
            "payment_success_rate",
            "decline_rate",
        ]
        for metric in data["metrics"]:
            assert {"name", "statistic", "p_value", "p_adjusted", "effect_size", "outcome", "test"} <= set(metric)
    else:
        assert data["enough_data"] is False
        assert data["step"] == "pause"


def test_people_get_a_table(invoke: Invoke, files: dict[str, Path]) -> None:
    result = invoke("rollout", "judge", "--baseline", str(files["baseline"]), "--canary", str(files["bad"]))
    assert result.exit_code == 1
    assert "error_rate" in result.stdout
    assert "fail" in result.stdout


def test_a_config_file_changes_the_verdict(invoke: Invoke, files: dict[str, Path], tmp_path: Path) -> None:
    config = tmp_path / "judge.yaml"
    config.write_text("error_rate_floor: 0.2\nbusiness_rate_floor: 0.2\n")
    args = ("rollout", "judge", "--baseline", str(files["baseline"]), "--canary", str(files["bad"]), "--json")
    assert invoke(*args, "--config", str(config)).exit_code == 0
    config.write_text("error_rate_floor: -1\n")
    result = invoke(*args, "--config", str(config))
    assert result.exit_code == 2
    assert json.loads(result.stdout)["field"] == "error_rate_floor"


def test_with_a_release_the_analysis_is_audited_with_file_digests(
    invoke: Invoke, files: dict[str, Path], settings: Settings
) -> None:
    args = ("rollout", "judge", "--baseline", str(files["baseline"]), "--canary", str(files["bad"]), "--json")
    assert invoke(*args, "--release", "payments-1.4.0").exit_code == 1
    with open_ledger(settings) as ledger:
        entry = ledger.tail(1)[0].fields
    assert (entry["kind"], entry["subject"], entry["outcome"]) == ("deliver.analysis", "release:payments-1.4.0", "fail")
    assert entry["evidence"]["source"] == "cli"
    digests = {f["path"]: f["digest"] for f in entry["evidence"]["files"]}
    assert digests[str(files["bad"])].startswith("sha256:")
    assert len(digests[str(files["bad"])]) == 71
    bad_id = invoke(*args, "--release", "../etc")
    assert bad_id.exit_code == 2
    assert json.loads(bad_id.stdout)["field"] == "release"


BAD_FILES = [
    ("latency,timestamp,error\n1,2,0\n", "header", None),
    ("", "header", None),
    (GOOD + "0,10,0\n1,nan,0\n", "latency_ms", 3),
    (GOOD + "0,10,0\n1,inf,0\n", "latency_ms", 3),
    (GOOD + "0,10,0\n2,10,0\n1,10,0\n", "timestamp", 4),
    (GOOD + "0,10,0\n1,10\n", "line 3", 3),
    (GOOD + "0,10,2\n", "error", 2),
    (GOOD + "0,1,0\n0,-1,0\n", "latency_ms", 3),
    (GOOD + "0,ten,0\n", "latency_ms", 2),
]


@pytest.mark.parametrize(("text", "field", "line"), BAD_FILES)
def test_a_bad_samples_file_is_a_precise_input_error(
    invoke: Invoke, files: dict[str, Path], tmp_path: Path, text: str, field: str, line: int | None
) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text(text)
    with pytest.raises(InputError) as caught:
        Samples.from_csv(bad)
    assert caught.value.field == field
    assert str(bad) in caught.value.message
    if line is not None:
        assert caught.value.message.startswith(f"{bad}:{line}: ")
    result = invoke("rollout", "judge", "--baseline", str(files["baseline"]), "--canary", str(bad), "--json")
    assert result.exit_code == 2
    assert json.loads(result.stdout)["field"] == field


def test_unreadable_and_missing_files_are_input_errors(invoke: Invoke, files: dict[str, Path], tmp_path: Path) -> None:
    binary = tmp_path / "bin.csv"
    binary.write_bytes(GOOD.encode() + b"\xff\xfe,1,0\n")
    for path in (binary, tmp_path / "missing.csv"):
        result = invoke("rollout", "judge", "--baseline", str(files["baseline"]), "--canary", str(path), "--json")
        assert result.exit_code == 2, result.output
        assert json.loads(result.stdout)["field"] == "samples"


def test_the_group_has_help(invoke: Invoke) -> None:
    result = invoke("rollout", "--help")
    assert result.exit_code == 0
    assert "judge" in result.stdout
