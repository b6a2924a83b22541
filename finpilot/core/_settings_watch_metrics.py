"""The ``watch.metrics:`` section of ``finpilot.yaml``: scrape targets and interval, and the store's
retention and downsampling."""

from __future__ import annotations

import re

from pydantic import Field, field_validator, model_validator

from finpilot.core._model import StrictModel


class ScrapeTargetSettings(StrictModel):
    """One endpoint to scrape, beside the local runtime's replicas (which are found on their own)."""

    url: str = Field(
        pattern=r"^https?://[^/\s]+(/\S*)?$",
        description="The Prometheus text endpoint, e.g. http://127.0.0.1:8001/metrics.",
    )
    job: str = Field(default="finpilot", min_length=1, description="The `job` label of every series of this target.")
    labels: dict[str, str] = Field(
        default_factory=dict, description="Extra labels for every series of this target (names [a-zA-Z_][a-zA-Z0-9_]*)."
    )

    @field_validator("labels")
    @classmethod
    def _label_names(cls, value: dict[str, str]) -> dict[str, str]:
        for name in value:
            if not re.fullmatch(r"[a-zA-Z_][a-zA-Z0-9_]*", name) or name.startswith("__"):
                raise ValueError(f"{name!r} is not a label name: use [a-zA-Z_][a-zA-Z0-9_]*, not starting with __")
        return value


class WatchMetricsSettings(StrictModel):
    """Scraping and the embedded metrics store."""

    interval_s: float = Field(default=15.0, gt=0, le=3600, description="Seconds between scrapes of each target.")
    timeout_s: float = Field(
        default=10.0, gt=0, le=3600, description="Seconds a scrape may take before the target counts as down."
    )
    targets: list[ScrapeTargetSettings] = Field(
        default_factory=list, description="Static scrape targets (the runtime's replicas are added on their own)."
    )
    retention_s: float = Field(
        default=15 * 86400.0, gt=0, description="Samples (raw or rolled up) older than this are deleted."
    )
    downsample_after_s: float | None = Field(
        default=2 * 86400.0,
        gt=0,
        description="Raw samples older than this are rolled up into buckets; empty keeps every raw sample.",
    )
    downsample_step_s: float = Field(
        default=300.0, ge=1, le=86400, description="Width of a rolled-up bucket (one point per bucket in reads)."
    )
    out_of_order_s: float = Field(
        default=60.0,
        ge=0,
        le=86400,
        description="A sample this much older than its series' newest is still accepted; older ones are refused.",
    )
    skew_tolerance_s: float = Field(
        default=60.0,
        ge=0,
        le=86400,
        description="Samples stamped further ahead of the scraper's clock than this are refused and counted.",
    )

    @model_validator(mode="after")
    def _timeout_fits(self) -> WatchMetricsSettings:
        if self.timeout_s > self.interval_s:
            raise ValueError("timeout_s must not exceed interval_s (a scrape would overlap the next)")
        if self.downsample_after_s is not None and self.downsample_after_s >= self.retention_s:
            raise ValueError("downsample_after_s must be shorter than retention_s (nothing would be rolled up)")
        return self
