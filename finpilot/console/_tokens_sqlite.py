"""SQLite token backend: the ``console_tokens`` table in the ledger's own database file."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

from finpilot.console._token_backend import COLUMNS, TABLE, DuplicateTokenError, TokenBackend, TokenRow, row_from
from finpilot.core import StorageError, private_dir, private_file

_SCHEMA = f"""
CREATE TABLE IF NOT EXISTS {TABLE} (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    role TEXT NOT NULL,
    secret_sha256 TEXT NOT NULL,
    created_at TEXT NOT NULL,
    revoked_at TEXT,
    last_used_at TEXT
)
"""


class SQLiteTokenBackend(TokenBackend):
    """Tokens in a SQLite file, through one connection guarded by a lock (token traffic is light)."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._lock = threading.Lock()
        try:
            private_file(private_dir(path.parent) / path.name)
            # Autocommit: every statement here is a single-row change.
            self._conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=60)
            self._conn.execute("PRAGMA journal_mode=WAL")
            # The ledger's writer may hold the write lock during a group commit; wait for it.
            self._conn.execute("PRAGMA busy_timeout=60000")
            self._conn.execute(_SCHEMA)
        except (sqlite3.Error, OSError) as exc:
            raise StorageError(f"cannot open the token table in {path}: {exc}") from None

    @property
    def description(self) -> str:
        """The database file."""
        return f"sqlite:{self._path}"

    def _run(self, sql: str, params: tuple[object, ...] = ()) -> list[tuple[object, ...]]:
        with self._lock:
            try:
                return self._conn.execute(sql, params).fetchall()
            except sqlite3.IntegrityError as exc:
                raise DuplicateTokenError("name" if ".name" in str(exc) else "id") from None
            except sqlite3.Error as exc:
                raise StorageError(f"token table in {self._path}: {exc}") from None

    def insert(self, row: TokenRow) -> None:
        """Insert a row."""
        self._run(
            f"INSERT INTO {TABLE} ({COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?)",  # nosec B608  # noqa: S608 - constants only
            (row.id, row.name, row.role, row.secret_sha256, row.created_at, row.revoked_at, row.last_used_at),
        )

    def get(self, token_id: str) -> TokenRow | None:
        """One row."""
        found = self._run(f"SELECT {COLUMNS} FROM {TABLE} WHERE id = ?", (token_id,))  # nosec B608  # noqa: S608
        return row_from(found[0]) if found else None

    def rows(self) -> list[TokenRow]:
        """All rows."""
        return [row_from(r) for r in self._run(f"SELECT {COLUMNS} FROM {TABLE} ORDER BY created_at, id")]  # nosec B608  # noqa: S608

    def set_revoked(self, token_id: str, at: str) -> None:
        """Revoke."""
        self._run(f"UPDATE {TABLE} SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL", (at, token_id))  # nosec B608  # noqa: S608

    def set_last_used(self, token_id: str, at: str) -> None:
        """Touch."""
        self._run(f"UPDATE {TABLE} SET last_used_at = ? WHERE id = ?", (at, token_id))  # nosec B608  # noqa: S608

    def count_active(self) -> int:
        """Active rows."""
        return int(str(self._run(f"SELECT count(*) FROM {TABLE} WHERE revoked_at IS NULL")[0][0]))  # nosec B608  # noqa: S608

    def close(self) -> None:
        """Close the connection."""
        with self._lock:
            self._conn.close()
