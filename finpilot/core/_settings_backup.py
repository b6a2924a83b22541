"""The ``backup:`` section of ``finpilot.yaml``: where encrypted backups go, the key by reference, retention.

The key itself never appears here: only the name of an environment variable or the path of
a 0600 key file that holds it, so the config can be committed, logged and audited safely.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator

from finpilot.core._model import StrictModel


class BackupSettings(StrictModel):
    """Encrypted backups of the audit ledger and the other databases, with retention and a schedule."""

    dir: Path | None = Field(
        default=None,
        description="Directory that holds the backups. Empty means `backups/` in the data directory.",
    )
    key_env: str | None = Field(
        default=None,
        pattern=r"^[A-Za-z_][A-Za-z0-9_]*$",
        description=(
            "Name of the environment variable holding the 256-bit backup key (64 hex digits or base64), "
            "never the key itself. Give this or key_file."
        ),
    )
    key_file: Path | None = Field(
        default=None,
        description=(
            "Path of a file holding the 256-bit backup key (raw 32 bytes, 64 hex digits or base64); "
            "it must not be readable by group or others (chmod 600). Give this or key_env."
        ),
    )
    keep_last: int | None = Field(
        default=7,
        ge=1,
        le=100_000,
        description="Retention: keep at most this many backups (newest first). Empty means no count limit.",
    )
    max_age_days: float | None = Field(
        default=None,
        gt=0,
        le=36500,
        description="Retention: prune backups older than this many days (the newest is always kept).",
    )
    interval_s: float = Field(
        default=3600,
        ge=1,
        le=30 * 86400,
        description="How often the scheduler takes a backup, in seconds.",
    )
    compression: Literal["zlib", "lzma", "none"] = Field(
        default="zlib", description="Compression applied before encryption."
    )
    chunk_bytes: int = Field(
        default=1 << 20,
        ge=4096,
        le=64 << 20,
        description="Size of one encrypted chunk in bytes; each chunk has its own nonce and tag.",
    )
    payments_db: Path | None = Field(
        default=None,
        description=(
            "SQLite database of the reference payments service (examples/payments) to include; the restore "
            "drill then checks that its balances sum to zero. Empty means none."
        ),
    )
    pg_dump: Path | None = Field(
        default=None,
        description=(
            "pg_dump binary for the PostgreSQL backend. Empty means the newest under /usr/lib/postgresql/*/bin, "
            "else pg_dump on PATH."
        ),
    )

    @model_validator(mode="after")
    def _one_key(self) -> BackupSettings:
        if self.key_env is not None and self.key_file is not None:
            raise ValueError("give key_env or key_file, not both")
        return self
