"""``finpilot backup``: the commands, their JSON, and their exit codes on tamper and wrong key."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from backup_helpers import KEY_ENV, chunk_spans, new_key
from typer.testing import CliRunner, Result

from finpilot.cli import app


@pytest.fixture
def run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[CliRunner, Path]:
    """A runner in an empty directory holding a finpilot.yaml whose backup key comes from the environment."""
    work = tmp_path / "cwd"
    work.mkdir()
    monkeypatch.chdir(work)
    for name in ("FINPILOT_CONFIG", "FINPILOT_DATA_DIR"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv(KEY_ENV, new_key())
    (work / "finpilot.yaml").write_text(
        f"data_dir: {tmp_path / 'data'}\nbackup:\n  key: {{env: {KEY_ENV}}}\n  keep_last: 1\n"
    )
    return CliRunner(), tmp_path / "data"


def _invoke(runner: CliRunner, *args: str) -> Result:
    return runner.invoke(app, list(args))


def test_create_list_drill_prune(run: tuple[CliRunner, Path]) -> None:
    runner, data = run
    first = _invoke(runner, "backup", "create", "--json")
    assert first.exit_code == 0, first.output
    manifest = json.loads(first.stdout)
    assert manifest["format"] == "finpilot-backup/1"
    second = json.loads(_invoke(runner, "backup", "create", "--json").stdout)
    listed = json.loads(_invoke(runner, "backup", "list", "--json").stdout)["backups"]
    assert [b["id"] for b in listed] == [second["header"]["id"], manifest["header"]["id"]]

    drill = _invoke(runner, "backup", "restore-drill", "--json")
    assert drill.exit_code == 0, drill.output
    report = json.loads(drill.stdout)
    assert report["ok"]
    assert report["backup_id"] == second["header"]["id"]
    assert report["rto_s"] > 0
    assert report["rpo_s"] >= 0
    human = _invoke(runner, "backup", "restore-drill", manifest["header"]["id"])
    assert human.exit_code == 0
    assert "RPO" in human.stdout
    assert "audit root at checkpoint" in human.stdout

    pruned = json.loads(_invoke(runner, "backup", "prune", "--json").stdout)
    assert pruned["pruned"] == [manifest["header"]["id"]]
    assert not (data / "backups" / manifest["header"]["id"]).exists()


def test_tampered_backup_exits_1_naming_the_chunk(run: tuple[CliRunner, Path]) -> None:
    runner, data = run
    manifest = json.loads(_invoke(runner, "backup", "create", "--json").stdout)
    payload = data / "backups" / manifest["header"]["id"] / "payload.bin"
    raw = bytearray(payload.read_bytes())
    start, end = chunk_spans(bytes(raw))[-1]
    raw[(start + end) // 2] ^= 0x40
    payload.write_bytes(bytes(raw))
    result = _invoke(runner, "backup", "restore-drill")
    assert result.exit_code == 1
    last = len(chunk_spans(bytes(raw))) - 1
    assert f"error: chunk {last} failed authentication" in result.stderr


def test_wrong_key_exits_2(run: tuple[CliRunner, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    runner, _ = run
    assert _invoke(runner, "backup", "create").exit_code == 0
    monkeypatch.setenv(KEY_ENV, new_key())
    result = _invoke(runner, "backup", "restore-drill", "--json")
    assert result.exit_code == 2
    assert "different key" in json.loads(result.stdout)["message"]


def test_missing_key_is_a_config_error(run: tuple[CliRunner, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    runner, _ = run
    monkeypatch.delenv(KEY_ENV)
    result = _invoke(runner, "backup", "create")
    assert result.exit_code == 2
    assert f"environment variable {KEY_ENV} (backup.key) is not set" in result.stderr


def test_keygen_writes_a_private_key(tmp_path: Path) -> None:
    path = tmp_path / "k"
    result = CliRunner().invoke(app, ["backup", "keygen", str(path)])
    assert result.exit_code == 0, result.output
    assert path.stat().st_mode & 0o777 == 0o600
    assert len(path.read_text().strip()) == 64
    assert CliRunner().invoke(app, ["backup", "keygen", str(path)]).exit_code == 2
