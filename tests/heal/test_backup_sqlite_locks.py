"""A backup taken inside the process that holds the ledger open must not drop SQLite's locks.

Closing any descriptor of a file drops every POSIX lock the process holds on it. When the
backup's database probe used a plain open(), the runtime's scheduled backup silently unlocked
the ledger; the next process to close a connection deleted the WAL, and the runtime's later
appends went to the deleted file: entries lost from every other reader's view (and on restart).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from finpilot.audit import Entry, open_ledger
from finpilot.core import Settings
from finpilot.heal._backup._sources import find_sqlite, is_sqlite

_READ_SIZE = (
    "import sqlite3, sys\n"
    "c = sqlite3.connect(sys.argv[1])\n"
    "print(c.execute('SELECT size FROM log_state').fetchone()[0])\n"
    "c.close()\n"
)


def _size_seen_elsewhere(db: Path) -> int:
    # Another process, plain sqlite3: its close is the last one it knows of unless our locks show.
    done = subprocess.run([sys.executable, "-c", _READ_SIZE, str(db)], capture_output=True, text=True, check=True)
    return int(done.stdout)


def test_probing_for_databases_keeps_the_ledgers_locks(tmp_path: Path) -> None:
    entry = Entry(kind="custom.test.lock", actor="test:a", action="append", subject="s", outcome="ok")
    with open_ledger(Settings(data_dir=tmp_path)) as ledger:
        ledger.append(entry)
        assert find_sqlite(tmp_path) == [tmp_path / "finpilot.db"]
        assert _size_seen_elsewhere(tmp_path / "finpilot.db") == 1
        ledger.append(entry)
        assert _size_seen_elsewhere(tmp_path / "finpilot.db") == 2


def test_is_sqlite_tells_databases_from_other_files(tmp_path: Path) -> None:
    (tmp_path / "empty.db").write_bytes(b"")
    (tmp_path / "text.db").write_text("SQLite format 2 but not really a database at all\n" * 4)
    assert not is_sqlite(tmp_path / "empty.db")
    assert not is_sqlite(tmp_path / "text.db")
    assert not is_sqlite(tmp_path / "missing.db")
    with open_ledger(Settings(data_dir=tmp_path)):
        pass
    assert is_sqlite(tmp_path / "finpilot.db")
