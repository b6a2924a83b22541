"""``finpilot demo --part surge``: what it needs from ``finpilot up`` and what it refuses."""

from __future__ import annotations

from pathlib import Path

import pytest
from cli_helpers import Invoke

from finpilot.audit import open_ledger
from finpilot.cli._demo_surge import surge_tour
from finpilot.core import NotFoundError, Settings


def test_an_unknown_part_lists_the_surge(invoke: Invoke) -> None:
    result = invoke("demo", "--part", "rush")
    assert result.exit_code == 2
    assert "surge" in result.output


def test_the_surge_part_says_how_to_start_a_surge_when_up_sends_none(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data")
    with open_ledger(settings) as ledger, pytest.raises(NotFoundError) as caught:
        surge_tour(settings, ledger, {"console": "http://127.0.0.1:1", "surge": None}, lambda: 2)
    assert "finpilot up --surge" in str(caught.value.fix)
