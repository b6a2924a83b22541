"""Fixtures for the rule pack's tests: one semgrep run over the annotated fixture files, shared."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from finpilot.deliver._rules import canonical_rule_id, semgrep_rule_dir

FIXTURES = Path(__file__).parent / "fixtures"


def semgrep_binary() -> str:
    """The semgrep beside this interpreter, else on PATH; a missing semgrep fails the test (never skips)."""
    beside = Path(sys.executable).parent / "semgrep"
    found = str(beside) if beside.exists() else shutil.which("semgrep")
    if found is None:
        pytest.fail("semgrep is not installed: pip install 'finpilot[gates]' (the rule pack's tests need it)")
    return found


def run_semgrep(targets: list[Path], config: Path | None = None) -> list[dict[str, Any]]:
    """semgrep's JSON results for ``targets`` under the pack (offline: no metrics, no version check).

    Name files, not a folder under tests/: semgrep skips test folders when it walks a directory.
    """
    env = {**os.environ, "SEMGREP_ENABLE_VERSION_CHECK": "0", "SEMGREP_SEND_METRICS": "off"}
    proc = subprocess.run(
        [
            semgrep_binary(),
            "scan",
            "--metrics=off",
            "--disable-version-check",
            "--json",
            "--quiet",
            "--no-git-ignore",
            "--config",
            str(config or semgrep_rule_dir()),
            *map(str, targets),
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
        check=False,
    )
    assert proc.returncode in (0, 1), proc.stderr[-2000:]
    out = json.loads(proc.stdout)
    assert not out["errors"], out["errors"]
    results: list[dict[str, Any]] = out["results"]
    for result in results:
        result["check_id"] = canonical_rule_id(result["check_id"])
    return results


@pytest.fixture(scope="session")
def fixture_findings() -> dict[str, set[tuple[int, str]]]:
    """Per fixture file name: the (line, rule id) of every finding of the pack."""
    found: dict[str, set[tuple[int, str]]] = {}
    for result in run_semgrep(sorted(FIXTURES.glob("*.py"))):
        found.setdefault(Path(result["path"]).name, set()).add((result["start"]["line"], result["check_id"]))
    return found
