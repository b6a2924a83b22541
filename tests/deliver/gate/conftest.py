"""One real run of every scanner over a flawed tree, shared by the module's tests (semgrep and checkov start slowly)."""

from __future__ import annotations

from pathlib import Path

import pytest
from gate_helpers import TODAY, write_config, write_tree

from finpilot.deliver import GateConfig, GateResult, run_gate


@pytest.fixture(scope="package")
def flawed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """``(tree, config)``: the flawed tree and a config for every scanner."""
    base = tmp_path_factory.mktemp("gate")
    return write_tree(base / "tree"), write_config(base / "cfg")


@pytest.fixture(scope="package")
def full_run(flawed: tuple[Path, Path]) -> GateResult:
    """Every scanner, for real, over the flawed tree."""
    tree, config = flawed
    return run_gate(tree, GateConfig.load(config), today=TODAY)
