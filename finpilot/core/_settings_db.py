"""The ``db:`` section of ``finpilot.yaml``: a PostgreSQL primary and synchronous standby the healer keeps writable.

``mode: local`` means finpilot creates and runs the pair itself from this machine's PostgreSQL
binaries and promotes the standby when the primary fails; ``mode: patroni`` means a Patroni
cluster owns the database and the healer only asks Patroni's REST API to fail over.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator

from finpilot.core._model import StrictModel


class DbHaSettings(StrictModel):
    """High availability of the PostgreSQL database: ports, data directories and the failure detector."""

    mode: Literal["local", "patroni"] = Field(
        default="local",
        description=(
            "`local`: finpilot runs the primary and standby and promotes the standby itself. "
            "`patroni`: a Patroni cluster manages PostgreSQL and the healer drives its REST API."
        ),
    )
    base_dir: Path | None = Field(
        default=None,
        description="Directory holding both data directories and the pair's state. Empty means `pg/` in data_dir.",
    )
    primary_port: int = Field(default=55432, ge=1024, le=65535, description="TCP port of the initial primary.")
    standby_port: int = Field(default=55433, ge=1024, le=65535, description="TCP port of the initial standby.")
    bin_dir: Path | None = Field(
        default=None,
        description="Directory of initdb, pg_ctl, pg_basebackup and pg_rewind. Empty means the newest "
        "/usr/lib/postgresql/*/bin, else the directory of pg_ctl on PATH.",
    )
    os_user: str = Field(
        default="postgres",
        pattern=r"^[a-z_][a-z0-9_-]{0,31}$",
        description="When finpilot runs as root, the OS user that owns the data directories and runs PostgreSQL "
        "(initdb refuses to run as root).",
    )
    superuser: str = Field(
        default="postgres",
        pattern=r"^[a-z_][a-z0-9_]{0,62}$",
        description="Database superuser created by initdb; clients and the healer connect as this role.",
    )
    database: str = Field(
        default="postgres",
        pattern=r"^[a-z_][a-z0-9_]{0,62}$",
        description="Database name in the client DSN.",
    )
    check_interval_s: float = Field(
        default=0.5, gt=0, le=60, description="How often the healer checks each server, in seconds."
    )
    check_timeout_s: float = Field(
        default=1.0, gt=0, le=60, description="Connect and query timeout of one check, in seconds."
    )
    failure_threshold: int = Field(
        default=3, ge=1, le=100, description="Failed checks in a row after which the primary is fenced and replaced."
    )
    patroni_urls: list[str] = Field(
        default_factory=list,
        description="REST API base URLs of the Patroni members (e.g. http://127.0.0.1:8008); `patroni` mode only.",
    )

    @model_validator(mode="after")
    def _consistent(self) -> DbHaSettings:
        if self.primary_port == self.standby_port:
            raise ValueError("primary_port and standby_port must differ")
        if self.mode == "patroni" and not self.patroni_urls:
            raise ValueError("mode patroni needs at least one URL in patroni_urls")
        for url in self.patroni_urls:
            if not url.startswith(("http://", "https://")):
                raise ValueError(f"patroni_urls: {url!r} must start with http:// or https://")
        return self


class DbSettings(StrictModel):
    """The application database finpilot keeps available (the payments ledger's PostgreSQL)."""

    ha: DbHaSettings = Field(
        default_factory=DbHaSettings, description="Primary/standby pair and the healer that fails it over."
    )
