"""Fixtures for the rule pack's tests: one semgrep run over the annotated fixture files, shared."""

from __future__ import annotations

from pathlib import Path

import pytest
from rule_pack_helpers import run_semgrep

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture(scope="session")
def fixture_findings() -> dict[str, set[tuple[int, str]]]:
    """Per fixture file name: the (line, rule id) of every finding of the pack."""
    found: dict[str, set[tuple[int, str]]] = {}
    for result in run_semgrep(sorted(FIXTURES.glob("*.py")) + sorted(FIXTURES.glob("*.html"))):
        found.setdefault(Path(result["path"]).name, set()).add((result["start"]["line"], result["check_id"]))
    return found
