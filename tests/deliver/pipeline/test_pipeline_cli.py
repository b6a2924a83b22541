"""``finpilot pipeline``: exit codes (0 pass, 1 a step failed, 2 bad input, each named), the audit entry, list/show."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from pipeline_helpers import py, write_pipeline
from typer.testing import CliRunner, Result

from finpilot.audit import open_ledger
from finpilot.cli import app
from finpilot.core import Settings

Invoke = Callable[..., Result]


@pytest.fixture
def invoke(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Invoke:
    monkeypatch.chdir(tmp_path)
    for name in ("FINPILOT_CONFIG", "FINPILOT_DATA_DIR"):
        monkeypatch.delenv(name, raising=False)

    def go(*args: str) -> Result:
        return CliRunner().invoke(app, ["--data-dir", str(tmp_path / "data"), *args])

    return go


def _bad(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    return path


@pytest.mark.parametrize(
    ("text", "said"),
    [
        (
            "pipeline:\n  name: x\n  steps:\n    test: {type: run, command: 'true', needs: [gate]}\n"
            "    gate: {type: gate, needs: [test]}\n",
            "cycle: test -> gate -> test",
        ),
        ("pipeline:\n  name: x\n  steps:\n    a: {type: docker, command: 'true'}\n", "unknown step type 'docker'"),
        ("pipeline:\n  name: x\n  steps:\n    a: {type: run, command: 'true'\n", "bad.yaml:5:1: not valid YAML"),
        (
            "pipeline:\n  name: x\n  steps:\n    a: {type: run, command: 'true', needs: [b]}\n",
            "needs 'b', which is not",
        ),
    ],
)
def test_bad_pipelines_exit_2_naming_the_problem(invoke: Invoke, tmp_path: Path, text: str, said: str) -> None:
    result = invoke("pipeline", "run", "--file", str(_bad(tmp_path, text)))
    assert result.exit_code == 2, result.output
    assert said in result.output
    assert "fix:" in result.output
    as_json = invoke("pipeline", "run", "--file", str(_bad(tmp_path, text)), "--json")
    assert as_json.exit_code == 2
    assert said in json.loads(as_json.stdout)["message"]
    assert not (tmp_path / "data" / "pipelines").exists()  # nothing ran


def test_no_pipeline_and_a_bad_release_exit_2(invoke: Invoke, tmp_path: Path) -> None:
    result = invoke("pipeline", "run")
    assert result.exit_code == 2
    assert "no pipeline in" in result.output
    path = write_pipeline(tmp_path, {"a": {"type": "run", "command": "true"}})
    result = invoke("pipeline", "run", "--file", str(path), "--release", "../etc")
    assert result.exit_code == 2
    assert "--release" in result.output or "release id" in result.output


def test_a_passing_run_is_audited_and_listed(invoke: Invoke, tmp_path: Path) -> None:
    path = write_pipeline(tmp_path, {"a": {"type": "run", "command": py("print('hello from a')")}}, name="demo")
    result = invoke("pipeline", "run", "--file", str(path), "--release", "payments-1.4.0", "--json")
    assert result.exit_code == 0, result.output
    record = json.loads(result.stdout)  # --json prints the record only
    assert record["status"] == "passed"
    with open_ledger(Settings(data_dir=tmp_path / "data")) as ledger:
        (entry,) = [e.fields for e in ledger.tail(10) if e.fields["kind"] == "deliver.pipeline_run"]
    assert entry["subject"] == "release:payments-1.4.0"
    assert entry["evidence"]["run_id"] == record["id"]
    assert entry["actor"].startswith("cli:")

    listed = json.loads(invoke("pipeline", "list", "--json").stdout)
    assert [r["id"] for r in listed["runs"]] == [record["id"]]
    assert listed["runs"][0]["counts"] == {"passed": 1}
    shown = invoke("pipeline", "show", record["id"], "--log", "a")
    assert shown.exit_code == 0
    assert shown.stdout == "hello from a\n"
    shown = json.loads(invoke("pipeline", "show", record["id"], "--json").stdout)
    assert shown["log"] is None
    assert shown["steps"][0]["status"] == "passed"


def test_a_failing_run_exits_1_with_plain_progress(invoke: Invoke, tmp_path: Path) -> None:
    path = write_pipeline(
        tmp_path,
        {"a": {"type": "run", "command": ["false"]}, "b": {"type": "run", "needs": ["a"], "command": "true"}},
    )
    result = invoke("pipeline", "run", "--file", str(path))
    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    assert "running  a" in lines[0]
    assert any(line.strip().startswith("failed  a") and "exited with code 1" in line for line in lines)
    assert any(line.strip().startswith("skipped  b") for line in lines)
    assert "error: pipeline t failed: a (exited with code 1)" in result.output
    as_json = invoke("pipeline", "run", "--file", str(path), "--json")
    assert as_json.exit_code == 1
    assert json.loads(as_json.stdout)["status"] == "failed"


def test_show_refuses_what_is_not_a_run(invoke: Invoke) -> None:
    result = invoke("pipeline", "show", "../../etc")
    assert result.exit_code == 2
    assert "is not a run id" in result.output
    result = invoke("pipeline", "show", "20260101T000000Z-00000000")
    assert result.exit_code == 2
    assert "no pipeline run" in result.output
