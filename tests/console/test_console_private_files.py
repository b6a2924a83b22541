"""Security finding 11: the data directory is 0700 and every file in it 0600, whatever the umask."""

from __future__ import annotations

import logging
import os
import secrets
import stat
from pathlib import Path

import pytest

from finpilot.audit import Entry, open_ledger
from finpilot.console import open_token_store
from finpilot.core import Settings


def _modes(root: Path) -> dict[str, int]:
    out = {".": stat.S_IMODE(root.stat().st_mode)}
    for path in root.rglob("*"):
        out[str(path.relative_to(root))] = stat.S_IMODE(path.lstat().st_mode)
    return out


def _start(data_dir: Path) -> None:
    """What the console does at start: open the ledger and the token store, then use both."""
    settings = Settings(data_dir=data_dir)
    with open_ledger(settings) as ledger, open_token_store(settings) as tokens:
        ledger.append(Entry(kind="custom.test", actor="t", action="a", subject="s", outcome="ok"))
        ledger.checkpoint()
        tokens.create(f"ops-{secrets.token_hex(4)}", "viewer")
        modes = _modes(data_dir)
        assert {"finpilot.db", "finpilot.db-wal", "finpilot.db-shm"} <= set(modes)
        assert modes["."] == 0o700
        loose = {name: oct(mode) for name, mode in modes.items() if name != "." and mode & 0o077}
        assert loose == {}
        assert all(mode == 0o600 for name, mode in modes.items() if (data_dir / name).is_file())


def test_console_data_is_private_under_umask_022(tmp_path: Path, umask_022: None) -> None:
    _start(tmp_path / "data")


def test_loose_data_dir_is_tightened_at_start_with_a_warning(
    tmp_path: Path, umask_022: None, caplog: pytest.LogCaptureFixture
) -> None:
    """What releases before the fix left behind (a 0755 directory, 0644 databases) is repaired on the next start."""
    data_dir = tmp_path / "data"
    _start(data_dir)
    os.chmod(data_dir, 0o755)
    (data_dir / "finpilot.db").chmod(0o644)
    (data_dir / "backups").mkdir(mode=0o755)
    (data_dir / "backups" / "old.bin").write_bytes(b"x")
    os.chmod(data_dir / "backups" / "old.bin", 0o644)
    with caplog.at_level(logging.WARNING, logger="finpilot.core.private"):
        _start(data_dir)
    assert "readable by other users" in caplog.text
    assert f"{data_dir} was readable by other users (mode 755)" in caplog.text
    assert str(data_dir / "finpilot.db") in caplog.text
    assert stat.S_IMODE((data_dir / "backups").stat().st_mode) == 0o700
    assert stat.S_IMODE((data_dir / "backups" / "old.bin").stat().st_mode) == 0o600
