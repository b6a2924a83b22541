"""The ``backup:`` section of ``finpilot.yaml``: where encrypted backups go, the key by reference, retention.

The key itself never appears here: only a :class:`~finpilot.core.SecretRef` to the environment
variable or the 0600 key file that holds it, so the config can be committed, logged and audited safely.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field

from finpilot.core._model import StrictModel
from finpilot.core._secret import SecretRef


class BackupSettings(StrictModel):
    """Encrypted backups of the audit ledger and the other databases, with retention and a schedule."""

    dir: Path | None = Field(
        default=None,
        description="Directory that holds the backups. Empty means `backups/` in the data directory.",
    )
    key: SecretRef | None = Field(
        default=None,
        description=(
            "The 256-bit backup key by reference: {file: PATH} (raw 32 bytes, 64 hex digits or base64; "
            "`finpilot backup keygen PATH` writes one) or {env: NAME} (64 hex digits or base64)."
        ),
    )
    keep_last: int | None = Field(
        default=7,
        ge=1,
        le=100_000,
        description="Retention: keep at most this many backups (newest first). Empty means no count limit.",
    )
    max_age_s: float | None = Field(
        default=None,
        gt=0,
        le=100 * 365 * 86400,
        description=(
            "Retention: prune backups older than this many seconds (30 days is 2592000; the newest is always kept)."
        ),
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
