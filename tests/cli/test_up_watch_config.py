"""``finpilot up`` checks the watch service's config before it serves: a bad live read or rule is exit 2."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from finpilot.cli import app


def _up(tmp_path: Path, watch: str) -> tuple[int, str]:
    config = tmp_path / "finpilot.yaml"
    config.write_text(f"data_dir: {tmp_path / 'data'}\nconsole:\n  port: 0\nwatch:\n{watch}")
    result = CliRunner().invoke(app, ["--config", str(config), "up"])
    return result.exit_code, result.output


@pytest.mark.parametrize(
    ("watch", "expected"),
    [
        (
            "  detect:\n    series:\n      - {name: lat, selector: latency_seconds, detector: nope}\n",
            "no detector named 'nope'",
        ),
        (f"  alerts:\n    rules_dir: {Path('/nonexistent-rules-dir')}\n", "alert rules directory"),
    ],
)
def test_up_refuses_a_bad_watch_config_before_it_serves(tmp_path: Path, watch: str, expected: str) -> None:
    code, output = _up(tmp_path, watch)
    assert code == 2, output
    assert expected in output
    assert "finpilot console:" not in output
