"""The storage interface for API tokens; one file per backend (SQLite, PostgreSQL).

Backends store rows and answer simple lookups; every rule (format, hashing, roles,
revocation) lives in :class:`finpilot.console.TokenStore`, so both backends behave alike.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Final

TABLE: Final = "console_tokens"
COLUMN_NAMES: Final = ("id", "name", "role", "secret_sha256", "created_at", "revoked_at", "last_used_at")
COLUMNS: Final = ", ".join(COLUMN_NAMES)


@dataclass(frozen=True, slots=True)
class TokenRow:
    """One row of ``console_tokens``. ``secret_sha256`` is the hex SHA-256 of the secret, never the secret."""

    id: str
    name: str
    role: str
    secret_sha256: str
    created_at: str
    revoked_at: str | None
    last_used_at: str | None


class DuplicateTokenError(Exception):
    """An insert hit a unique constraint; ``column`` is ``"id"`` or ``"name"``."""

    def __init__(self, column: str) -> None:
        super().__init__(column)
        self.column = column


class TokenBackend(ABC):
    """Where token rows live. Every method may be called from any thread."""

    @abstractmethod
    def insert(self, row: TokenRow) -> None:
        """Store a new row; raise :class:`DuplicateTokenError` when its id or name is taken."""

    @abstractmethod
    def get(self, token_id: str) -> TokenRow | None:
        """The row with this id, if any."""

    @abstractmethod
    def rows(self) -> list[TokenRow]:
        """Every row, oldest first."""

    @abstractmethod
    def set_revoked(self, token_id: str, at: str) -> None:
        """Mark a row revoked unless it already is."""

    @abstractmethod
    def set_last_used(self, token_id: str, at: str) -> None:
        """Record when a token last authenticated."""

    @abstractmethod
    def count_active(self) -> int:
        """How many rows are not revoked."""

    @abstractmethod
    def close(self) -> None:
        """Release connections."""

    @property
    @abstractmethod
    def description(self) -> str:
        """Where the tokens live, with no credentials."""


def row_from(values: tuple[object, ...]) -> TokenRow:
    """Build a row from a ``SELECT {COLUMNS}`` result."""
    tid, name, role, digest, created, revoked, used = values
    return TokenRow(
        id=str(tid),
        name=str(name),
        role=str(role),
        secret_sha256=str(digest),
        created_at=str(created),
        revoked_at=None if revoked is None else str(revoked),
        last_used_at=None if used is None else str(used),
    )
