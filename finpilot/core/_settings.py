"""Typed settings: the one place ``finpilot.yaml`` is read, validated and documented.

The JSON Schema that ``finpilot config schema`` prints comes from these models, so the
documentation of each field lives exactly once, here.
"""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from finpilot.core._config_renames import check_renamed
from finpilot.core._field_problem import FieldProblem
from finpilot.core._model import StrictModel
from finpilot.core._secret import SecretRef
from finpilot.core._settings_backup import BackupSettings
from finpilot.core._settings_db import DbSettings
from finpilot.core._settings_runbook import RunbookSettings
from finpilot.core._settings_runtime import RuntimeSettings
from finpilot.core._settings_watch import WatchSettings


class StorageSettings(StrictModel):
    """Where finpilot keeps its state."""

    dsn: str | None = Field(
        default=None,
        description=(
            "PostgreSQL DSN (postgresql://user@host/db). Empty means the embedded SQLite "
            "database in the data directory."
        ),
    )
    schema_name: str = Field(
        default="finpilot",
        pattern=r"^[a-z_][a-z0-9_]{0,62}$",
        description="PostgreSQL schema that holds finpilot's tables.",
    )

    @field_validator("dsn")
    @classmethod
    def _postgres_only(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("postgresql://", "postgres://")):
            raise ValueError("must be a postgresql:// DSN, or left out to use SQLite")
        return value


class AuditSettings(StrictModel):
    """The audit ledger."""

    origin: str = Field(
        default="finpilot.local/audit",
        min_length=1,
        pattern=r"^[^\s]+$",
        description="Log identity: the first line of every signed checkpoint and the signing key's name.",
    )
    checkpoint_interval_s: float = Field(
        default=0.05,
        gt=0,
        le=86400,
        description=(
            "How often a new signed checkpoint is made while the log grows. Nothing is signed while the log is idle."
        ),
    )
    max_entry_bytes: int = Field(
        default=65536,
        ge=512,
        le=16 * 1024 * 1024,
        description="Largest canonical entry accepted, in bytes.",
    )
    max_batch: int = Field(
        default=20000,
        ge=1,
        le=1_000_000,
        description="Most entries one group commit writes.",
    )


class AuthFailureSettings(StrictModel):
    """How many refused requests (401, 403) one client address may make, and how they are recorded."""

    rate_per_s: float = Field(
        default=1.0, gt=0, le=1000, description="Refusals a client regains per second once it has spent its burst."
    )
    burst: int = Field(
        default=20, ge=1, le=10000, description="Refusals a client may run into at once before it is answered 429."
    )
    window_s: float = Field(
        default=60,
        gt=0,
        le=86400,
        description=(
            "Refusals are counted, per client, over windows of this many seconds: one console.refusals "
            "ledger entry per window and client, never one per refusal."
        ),
    )


class ConsoleSettings(StrictModel):
    """The web console and REST API."""

    host: str = Field(default="127.0.0.1", description="Address to listen on.")
    port: int = Field(default=8000, ge=0, le=65535, description="TCP port (0 picks a free one).")
    demo_token: bool = Field(
        default=False,
        description="Create and print an admin token at start-up when none exists (demo only).",
    )
    max_body_bytes: int = Field(
        default=32 * 1024 * 1024,
        ge=4096,
        le=1024 * 1024 * 1024,
        description="Largest request body accepted; a larger one is refused with 413 before anything reads it.",
    )
    trusted_proxies: list[str] = Field(
        default_factory=list,
        description=(
            "Addresses or networks (10.0.0.0/8) of reverse proxies whose X-Forwarded-For and "
            "X-Forwarded-Proto are believed. Empty: those headers are ignored and the client is the TCP peer."
        ),
    )
    auth_failures: AuthFailureSettings = Field(
        default_factory=AuthFailureSettings, description="Rate limit and ledger summary of refused requests."
    )

    @field_validator("trusted_proxies")
    @classmethod
    def _addresses(cls, value: list[str]) -> list[str]:
        for at, text in enumerate(value):
            try:
                ipaddress.ip_network(text, strict=False)
            except ValueError:
                raise FieldProblem(
                    "not an IP address or network", path=(at,), fix="name each proxy as 10.0.0.5 or 10.0.0.0/24"
                ) from None
        return value


class FraudAlertSettings(StrictModel):
    """Where fraud alerts go, and how often the same account may alert."""

    webhook_url: str | None = Field(
        default=None,
        pattern=r"^https?://[^\s]+$",
        description=(
            "URL that receives each alert as a signed JSON POST. Empty means alerts are kept for the "
            "console and the audit ledger only."
        ),
    )
    secret: SecretRef | None = Field(
        default=None,
        description=(
            "The webhook's HMAC-SHA256 secret by reference, {env: NAME} or {file: PATH} (never the secret itself). "
            "Required with webhook_url."
        ),
    )
    dedup_window_s: float = Field(
        default=600,
        gt=0,
        le=86400,
        description="Repeats for the same account within this many seconds of its alert are counted, not raised.",
    )
    timeout_s: float = Field(default=5, gt=0, le=60, description="Timeout of one webhook request, in seconds.")
    max_attempts: int = Field(
        default=3, ge=1, le=10, description="Webhook attempts per alert (with backoff) before it is given up."
    )

    @model_validator(mode="after")
    def _signed(self) -> FraudAlertSettings:
        if self.webhook_url is not None and self.secret is None:
            raise FieldProblem(
                "webhook_url needs secret: alerts are always signed",
                path=("secret",),
                fix="set secret: {env: NAME}, the variable holding the secret (or {file: PATH})",
            )
        return self


class FraudSettings(StrictModel):
    """Transaction surveillance: which model scores payments and where the policy draws its lines."""

    model_dir: Path | None = Field(
        default=None,
        description=(
            "Model artifact directory (model.txt + manifest.json, as written by `finpilot fraud train`). "
            "Empty means no model: the console starts and /api/v1/fraud/scores answers 503."
        ),
    )
    review_threshold: float = Field(
        default=0.5, ge=0, le=1, description="Lowest score that sends a payment to review (authorized and flagged)."
    )
    decline_threshold: float = Field(default=0.8, ge=0, le=1, description="Lowest score that declines a payment.")
    freeze_threshold: float = Field(
        default=0.98, ge=0, le=1, description="Lowest score that declines the payment and freezes its account."
    )
    alerts: FraudAlertSettings = Field(
        default_factory=FraudAlertSettings, description="Alerts on declines, freezes and drift."
    )
    scorers: int = Field(
        # One scorer beside the router had the lowest CPU per request and p99 on 2 cores
        # (docs/benchmarks.md, "HTTP through the fraud router"); more pay off with more cores.
        default=1,
        ge=0,
        le=64,
        description=(
            "HTTP scorer processes `finpilot up` runs behind the fraud router, each owning the customers a "
            "consistent-hash ring gives it (printed as `fraud scoring: URL`). 0 scores in the console's "
            "process instead, with no router. On more than 2 cores, about one per spare core."
        ),
    )

    @model_validator(mode="after")
    def _ordered(self) -> FraudSettings:
        if not self.review_threshold <= self.decline_threshold <= self.freeze_threshold:
            raise ValueError("thresholds must satisfy review_threshold <= decline_threshold <= freeze_threshold")
        return self


class Settings(StrictModel):
    """Everything ``finpilot.yaml`` can say."""

    version: Literal[1] = Field(default=1, description="Config format version.")
    data_dir: Path = Field(default=Path(".finpilot"), description="Directory for state and keys.")
    storage: StorageSettings = Field(default_factory=StorageSettings)
    audit: AuditSettings = Field(default_factory=AuditSettings)
    console: ConsoleSettings = Field(default_factory=ConsoleSettings)
    fraud: FraudSettings = Field(default_factory=FraudSettings)
    runtime: RuntimeSettings = Field(
        default_factory=RuntimeSettings, description="Nodes, pools and services the self-healing runtime keeps running."
    )
    backup: BackupSettings = Field(default_factory=BackupSettings)
    runbooks: RunbookSettings = Field(
        default_factory=RunbookSettings, description="Runbooks as code: where runbook files live, where pages go."
    )
    db: DbSettings = Field(
        default_factory=DbSettings, description="The PostgreSQL primary/standby pair and its failover healer."
    )
    watch: WatchSettings = Field(
        default_factory=WatchSettings,
        description="Watch: metrics, anomaly detection, alerts and the predictive autoscaler.",
    )
    pipeline: dict[str, Any] | None = Field(
        default=None,
        description="The delivery pipeline (named steps in a DAG). Settings carry it unread; "
        "`finpilot pipeline run` validates it (docs/deliver-pipelines.md).",
    )

    @model_validator(mode="before")
    @classmethod
    def _no_old_names(cls, data: Any) -> Any:
        # Before field validation, so an old name gets its rename and fix, not just "extra field".
        check_renamed(data)
        return data


def demo_settings(data_dir: Path | None = None) -> Settings:
    """The built-in configuration ``finpilot up`` uses when no config file is given."""
    return Settings(
        data_dir=data_dir or Path(".finpilot"),
        console=ConsoleSettings(demo_token=True),
    )


def settings_schema() -> dict[str, object]:
    """JSON Schema of ``finpilot.yaml``."""
    schema = Settings.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "finpilot.yaml"
    return schema
