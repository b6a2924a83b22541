"""Acceptance 5 through the CLI: each kind of bad input to delivery is a precise error and a non-zero exit.

One case per row: what is wrong, the command line, the exit code, and the words the message must
hold (the file and the field or step it is about). None of them may pass.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from typer.testing import CliRunner

from finpilot.cli import app

GOOD_CSV = "timestamp,latency_ms,error\n" + "".join(f"{i / 10},{20 + i % 7},0\n" for i in range(50))


@dataclass(frozen=True)
class Case:
    """A bad input: ``setup(tmp)`` writes the files and returns the argv (``{tmp}`` filled in)."""

    setup: Callable[[Path], list[str]]
    code: int
    said: tuple[str, ...]
    field: str | None = None


def _pipeline(text: str) -> Callable[[Path], list[str]]:
    def setup(tmp: Path) -> list[str]:
        (tmp / "bad.yaml").write_text(text)
        return ["pipeline", "run", "--file", str(tmp / "bad.yaml"), "--json"]

    return setup


def _scanner(body: str, scanner: str = "semgrep") -> Callable[[Path], list[str]]:
    """A gate whose one scanner is the shell script ``body`` (none at all when body is empty)."""

    def setup(tmp: Path) -> list[str]:
        tree, bin_dir = tmp / "tree", tmp / "bin"
        tree.mkdir()
        (tree / "app.py").write_text("def total(a: int, b: int) -> int:\n    return a + b\n")
        bin_dir.mkdir()
        if body:
            script = bin_dir / scanner
            script.write_text(f"#!/bin/sh\n{body}\n")
            script.chmod(0o755)
        (tmp / "gate.yaml").write_text(f"scanners: [{scanner}]\ncache_dir: {tmp / 'cache'}\n")
        return ["gate", "run", str(tree), "--sarif", str(tmp / "g.sarif"), "--config", str(tmp / "gate.yaml"), "--json"]

    return setup


def _truncated_baseline(tmp: Path) -> list[str]:
    argv = _scanner("")(tmp)
    # What a scanner that died while writing its SARIF leaves behind.
    (tmp / "crashed.sarif").write_text('{"version": "2.1.0", "runs": [{"tool": {"driver": {"name": "semg')
    return [*argv[:-1], "--baseline", str(tmp / "crashed.sarif"), "--json"]


def _unsigned(tmp: Path) -> list[str]:
    (tmp / "other.bin").write_bytes(b"other")
    (tmp / "app.whl").write_bytes(b"PK not signed by anyone")
    sign = ["--data-dir", str(tmp / "data"), "sign", str(tmp / "other.bin"), "--out", str(tmp / "o.sig.json")]
    assert CliRunner().invoke(app, sign).exit_code == 0  # the release key now exists; app.whl has no signature
    argv = ["rollout", "start", "payments", "--release", "payments-1.4.0", "--artifact", str(tmp / "app.whl")]
    return [*argv, "--require-signature", "--json"]


def _samples(text: str) -> Callable[[Path], list[str]]:
    def setup(tmp: Path) -> list[str]:
        (tmp / "baseline.csv").write_text(GOOD_CSV)
        (tmp / "canary.csv").write_text(text)
        argv = ["rollout", "judge", "--baseline", str(tmp / "baseline.csv"), "--canary", str(tmp / "canary.csv")]
        return [*argv, "--json"]

    return setup


# Like semgrep crashing half-way through its report: the --output file ($6) holds the start of the JSON.
CRASHING_SEMGREP = (
    'case "$1" in --version) echo "1.99.0";; *) printf \'{"results": [{"check_id"\' > "$6"; exit 0;; esac'
)

CASES = {
    "malformed pipeline YAML": Case(
        _pipeline("pipeline:\n  name: x\n  steps: {a: {type: run, command: [true\n"), 2, ("bad.yaml:", "not valid YAML")
    ),
    "a cycle in the DAG": Case(
        _pipeline(
            "pipeline:\n  name: x\n  steps:\n    test: {type: run, command: 'true', needs: [gate]}\n"
            "    gate: {type: gate, needs: [test]}\n"
        ),
        2,
        ("bad.yaml:", "cycle", "test -> gate -> test"),
    ),
    "an unknown step type": Case(
        _pipeline("pipeline:\n  name: x\n  steps:\n    a: {type: docker}\n"),
        2,
        ("bad.yaml:4", "unknown step type 'docker'", "known types: run, gate"),
    ),
    "a missing scanner": Case(_scanner(""), 2, ("semgrep",), None),
    "a crashed scanner's report": Case(
        _scanner(CRASHING_SEMGREP), 1, ("semgrep", "semgrep.json", "crashed"), "scanners"
    ),
    "a crashed scanner's SARIF as the baseline": Case(_truncated_baseline, 2, ("crashed.sarif",), "--baseline"),
    "an unsigned artifact where a signature is required": Case(
        _unsigned, 1, ("app.whl is not verified", "signed: unsigned where required")
    ),
    "a samples CSV with a bad header": Case(_samples("latency,timestamp,error\n1,2,0\n"), 2, ("canary.csv",), "header"),
    "a samples CSV with NaN": Case(_samples(GOOD_CSV + "9,nan,0\n"), 2, ("canary.csv:52:",), "latency_ms"),
    "a samples CSV with rows out of order": Case(
        _samples(GOOD_CSV + "9,10,0\n8,10,0\n"), 2, ("canary.csv:53:",), "timestamp"
    ),
}


@pytest.mark.parametrize("name", list(CASES))
def test_bad_input_is_a_precise_error_and_never_a_pass(
    name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    case = CASES[name]
    work = tmp_path / "cwd"
    work.mkdir()
    monkeypatch.chdir(work)
    for var in ("FINPILOT_CONFIG", "FINPILOT_DATA_DIR"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("FINPILOT_SCANNER_PATH", str(tmp_path / "bin"))  # the gate cases' scanners only
    argv = case.setup(tmp_path)
    result = CliRunner().invoke(app, ["--data-dir", str(tmp_path / "data"), *argv])
    assert result.exit_code == case.code, (name, result.output)
    answer = json.loads(result.stdout)
    assert set(answer) >= {"error", "message", "field", "fix"}, answer
    for words in case.said:
        assert words in answer["message"], (name, answer)
    if case.field is not None:
        assert answer["field"] == case.field, answer
    assert answer.get("verdict") != "pass"
