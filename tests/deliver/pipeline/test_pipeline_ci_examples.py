"""examples/ci: the GitHub workflow passes actionlint and the vendored GitHub schema, the GitLab file the vendored
GitLab schema; offline (a proxy that answers nothing), and a broken copy fails, so the checks can fail.

The validators are required dev tools: a missing one fails these tests, never skips them.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from pipeline_helpers import REPO

GITHUB = REPO / "examples" / "ci" / "github" / "finpilot.yml"
GITLAB = REPO / "examples" / "ci" / "gitlab" / ".gitlab-ci.yml"


def _tool(name: str) -> str:
    beside = Path(sys.executable).with_name(name)
    found = str(beside) if beside.exists() else shutil.which(name)
    if found is None:
        pytest.fail(f"{name} is not installed: pip install -e '.[dev]' (it is a required test tool)")
    return found


def _offline() -> dict[str, str]:
    # Any attempt to fetch a schema goes to a port where nothing listens, and fails the check.
    dead = "http://127.0.0.1:9"
    env = {k: v for k, v in os.environ.items() if k.lower() not in ("no_proxy",)}
    env.update({"HTTP_PROXY": dead, "HTTPS_PROXY": dead, "http_proxy": dead, "https_proxy": dead})
    return env


def _check(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, capture_output=True, text=True, env=_offline(), timeout=120, check=False)


def test_the_github_workflow_passes_actionlint() -> None:
    result = _check(_tool("actionlint"), "-no-color", str(GITHUB))
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_github_workflow_matches_the_vendored_schema() -> None:
    result = _check(_tool("check-jsonschema"), "--builtin-schema", "vendor.github-workflows", str(GITHUB))
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_gitlab_file_matches_the_vendored_schema() -> None:
    result = _check(_tool("check-jsonschema"), "--builtin-schema", "vendor.gitlab-ci", str(GITLAB))
    assert result.returncode == 0, result.stdout + result.stderr


def test_broken_copies_fail(tmp_path: Path) -> None:
    github = tmp_path / "finpilot.yml"
    github.write_text(GITHUB.read_text().replace("runs-on: ubuntu-latest", "runs_on: ubuntu-latest", 1))
    assert _check(_tool("actionlint"), "-no-color", str(github)).returncode != 0
    schema = _check(_tool("check-jsonschema"), "--builtin-schema", "vendor.github-workflows", str(github))
    assert schema.returncode != 0
    gitlab = tmp_path / ".gitlab-ci.yml"
    gitlab.write_text(GITLAB.read_text().replace("  script:\n", "  scripts:\n", 1))
    assert _check(_tool("check-jsonschema"), "--builtin-schema", "vendor.gitlab-ci", str(gitlab)).returncode != 0


def test_the_ci_files_run_the_cli_contract() -> None:
    github, gitlab = GITHUB.read_text(), GITLAB.read_text()
    for text in (github, gitlab):
        assert "finpilot gate run . --sarif gate.sarif" in text
        assert 'finpilot sbom "$wheel" --out' in text
        assert 'finpilot sign "$wheel" --out' in text
        assert 'finpilot provenance "$wheel" --out' in text
    assert "github/codeql-action/upload-sarif@v3" in github
    assert "finpilot pipeline run --release" in github
    assert "junit: gate-junit.xml" in gitlab
