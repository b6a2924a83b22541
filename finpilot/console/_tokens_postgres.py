"""PostgreSQL token backend: ``<schema>.console_tokens``, beside the ledger's tables."""

from __future__ import annotations

import threading
from typing import Any, LiteralString

import psycopg
from psycopg import sql

from finpilot.console._token_backend import COLUMN_NAMES, TABLE, DuplicateTokenError, TokenBackend, TokenRow, row_from
from finpilot.core import StorageError

_COLUMNS = sql.SQL(", ").join(sql.Identifier(name) for name in COLUMN_NAMES)
_CREATE: LiteralString = """
CREATE TABLE IF NOT EXISTS {table} (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    role TEXT NOT NULL,
    secret_sha256 TEXT NOT NULL,
    created_at TEXT NOT NULL,
    revoked_at TEXT,
    last_used_at TEXT
)
"""


class PostgresTokenBackend(TokenBackend):
    """Tokens in PostgreSQL, through one autocommit connection guarded by a lock; reconnects once if it broke."""

    def __init__(self, dsn: str, schema: str) -> None:
        self._dsn = dsn
        self._schema = schema
        self._table = sql.Identifier(schema, TABLE)
        self._lock = threading.Lock()
        self._conn: psycopg.Connection[Any] | None = None
        with self._lock:
            conn = self._connect()
            try:
                conn.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(schema)))
                conn.execute(sql.SQL(_CREATE).format(table=self._table))
            except psycopg.Error as exc:
                raise StorageError(f"cannot create the token table in schema {schema}: {exc}") from None

    @property
    def description(self) -> str:
        """Schema only: the DSN may hold a password."""
        return f"postgresql schema {self._schema}"

    def _connect(self) -> psycopg.Connection[Any]:
        if self._conn is None or self._conn.closed or self._conn.broken:
            try:
                self._conn = psycopg.connect(self._dsn, autocommit=True, connect_timeout=10)
            except psycopg.Error as exc:
                # psycopg's message names host and port but not the password; still, say less.
                raise StorageError(
                    f"cannot connect to PostgreSQL for the token table: {type(exc).__name__}",
                    fix="check storage.dsn and that the server is running",
                ) from None
        return self._conn

    def _run(self, query: sql.Composed, params: tuple[object, ...] = ()) -> list[tuple[Any, ...]]:
        with self._lock:
            conn = self._connect()
            try:
                cur = conn.execute(query, params)
                return cur.fetchall() if cur.description is not None else []
            except psycopg.errors.UniqueViolation as exc:
                constraint = exc.diag.constraint_name or ""
                raise DuplicateTokenError("name" if "name" in constraint else "id") from None
            except psycopg.Error as exc:
                raise StorageError(f"token table in schema {self._schema}: {type(exc).__name__}") from None

    def insert(self, row: TokenRow) -> None:
        """Insert a row."""
        self._run(
            sql.SQL("INSERT INTO {} ({}) VALUES (%s, %s, %s, %s, %s, %s, %s)").format(self._table, _COLUMNS),
            (row.id, row.name, row.role, row.secret_sha256, row.created_at, row.revoked_at, row.last_used_at),
        )

    def get(self, token_id: str) -> TokenRow | None:
        """One row."""
        found = self._run(sql.SQL("SELECT {} FROM {} WHERE id = %s").format(_COLUMNS, self._table), (token_id,))
        return row_from(found[0]) if found else None

    def rows(self) -> list[TokenRow]:
        """All rows."""
        query = sql.SQL("SELECT {} FROM {} ORDER BY created_at, id").format(_COLUMNS, self._table)
        return [row_from(r) for r in self._run(query)]

    def set_revoked(self, token_id: str, at: str) -> None:
        """Revoke."""
        query = sql.SQL("UPDATE {} SET revoked_at = %s WHERE id = %s AND revoked_at IS NULL").format(self._table)
        self._run(query, (at, token_id))

    def set_last_used(self, token_id: str, at: str) -> None:
        """Touch."""
        self._run(sql.SQL("UPDATE {} SET last_used_at = %s WHERE id = %s").format(self._table), (at, token_id))

    def count_active(self) -> int:
        """Active rows."""
        found = self._run(sql.SQL("SELECT count(*) FROM {} WHERE revoked_at IS NULL").format(self._table))
        return int(found[0][0])

    def close(self) -> None:
        """Close the connection."""
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None
