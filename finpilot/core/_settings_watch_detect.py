"""The ``watch.detect:`` section of ``finpilot.yaml``: streaming anomaly detection on live metrics.

Each entry of ``series`` names a PromQL-like read (the raw value, a rate or a histogram quantile,
kept per the ``by`` labels); every ``interval_s`` the newest value of each resulting series is
scored by a detector of its own, and a score at or above ``threshold`` is an anomaly event that
the anomaly alert rules (``type: anomaly``, matching on ``name``) turn into alerts.
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import Field, field_validator, model_validator

from finpilot.core._field_problem import FieldProblem
from finpilot.core._model import StrictModel

_NAME = r"^[A-Za-z_:][A-Za-z0-9_:]*$"


class LiveSeriesSettings(StrictModel):
    """One live read whose every resulting series is scored by its own detector."""

    name: str = Field(
        pattern=_NAME,
        description="The anomaly's series name (anomaly rules match it with 'series:'), e.g. payments_p99_seconds.",
    )
    selector: str = Field(min_length=1, description="PromQL selector; for kind quantile, the _bucket series.")
    kind: Literal["raw", "rate", "quantile"] = Field(
        default="raw", description="raw: the newest value; rate: per-second rate; quantile: histogram_quantile."
    )
    quantile: float = Field(default=0.99, gt=0, lt=1, description="kind quantile: which quantile.")
    window_s: float = Field(default=60, gt=0, le=86400, description="kind rate and quantile: the range, seconds.")
    by: list[str] = Field(
        default_factory=list, description="Labels kept (one detector per distinct value set); empty: one series."
    )
    aggregate: Literal["sum", "avg", "min", "max"] | None = Field(
        default=None, description="kind raw and rate: aggregate by 'by' with this operator; empty: none."
    )
    detector: str | None = Field(default=None, description="Detector name; empty: the default detector.")
    threshold: float = Field(default=0.99, gt=0, le=1, description="A score at or above this is an anomaly.")
    warmup_points: int = Field(
        default=30, ge=0, le=100_000, description="Points each detector learns before its scores can raise anomalies."
    )
    floor: float | None = Field(
        default=None,
        description="Values at or below this never raise an anomaly (e.g. a p99 under 0.1 s is no concern).",
    )
    replica_label: str | None = Field(
        default=None,
        description=(
            "A label whose value names the replica (the router's 'backend'); copied into 'replica' so the "
            "alert's subject names the replica a runbook acts on."
        ),
    )
    labels: dict[str, str] = Field(default_factory=dict, description="Labels added to every anomaly of this read.")

    @field_validator("by")
    @classmethod
    def _by(cls, value: list[str]) -> list[str]:
        for label in value:
            if re.match(r"^[A-Za-z_][A-Za-z0-9_]*$", label) is None:
                raise FieldProblem(f"'{label}' is not a label name", fix="use letters, digits and _")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> LiveSeriesSettings:
        if self.kind == "quantile" and self.aggregate is not None:
            raise FieldProblem(
                "a quantile sums its buckets itself", path=("aggregate",), fix="remove aggregate; use by"
            )
        if self.aggregate is None and self.by and self.kind != "quantile":
            raise FieldProblem(
                f"by needs an aggregate for kind {self.kind}", path=("aggregate",), fix="e.g. aggregate: sum"
            )
        return self


class WatchDetectSettings(StrictModel):
    """Live anomaly detection: which reads, how often, and how many series at most."""

    interval_s: float = Field(default=5, gt=0, le=3600, description="How often every live read is scored.")
    max_series: int = Field(
        default=200,
        ge=1,
        le=100_000,
        description="Most series scored at once (one detector each); series beyond it are counted, not scored.",
    )
    series: list[LiveSeriesSettings] = Field(default_factory=list, description="The live reads to score.")

    @model_validator(mode="after")
    def _unique(self) -> WatchDetectSettings:
        names = [s.name for s in self.series]
        for index, name in enumerate(names):
            if name in names[:index]:
                raise FieldProblem(
                    f"two live reads are called '{name}'", path=("series", index, "name"), fix="rename one"
                )
        return self
