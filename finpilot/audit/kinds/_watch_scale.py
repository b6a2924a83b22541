"""Kind of the predictive autoscaler: one scaling action, with the forecast it acted on."""

from __future__ import annotations

from pydantic import Field

from finpilot.audit._kind import KINDS, EntryKind, Evidence


class ScaleForecastPoint(Evidence):
    """One step of the forecast: when, its mean and its prediction interval (load units)."""

    t: float = Field(description="Unix seconds.")
    mean: float
    lower: float
    upper: float


class ScaleForecastEvidence(Evidence):
    """The forecast behind the action: a summary and, from the live autoscaler, its steps."""

    model: str = Field(description="The forecaster and its settings.")
    horizon_s: float = Field(description="How far ahead the forecast looked (start-up delay plus margin).")
    level: float = Field(description="Nominal coverage of the prediction interval.")
    mean_max: float = Field(description="Highest forecast mean over the horizon (load units, e.g. req/s).")
    upper_max: float = Field(description="Highest upper bound over the horizon (what was provisioned for).")
    points: list[ScaleForecastPoint] | None = Field(
        default=None, description="The forecast at each step of the horizon (the console draws it)."
    )


class ScalePolicyEvidence(Evidence):
    """The policy settings in force."""

    min_replicas: int
    max_replicas: int
    per_replica: float = Field(description="Load one replica serves (load units).")
    startup_s: float
    down_window_s: float
    up_cooldown_s: float


class WatchScaleEvidence(Evidence):
    """One scaling action: which service, from and to how many replicas, why, on what forecast."""

    service: str
    target: str = Field(description="Where it acted: runtime:<name> or k8s:<namespace>/<kind>/<name>.")
    from_replicas: int
    to_replicas: int
    reason: str = Field(description="predictive, reactive, idle or bounds.")
    observed: float = Field(description="The newest observed load (load units).")
    signal: str = Field(description="The load signal read (a metrics selector) and its source.")
    forecast: ScaleForecastEvidence
    policy: ScalePolicyEvidence


WATCH_SCALE = KINDS.declare(
    EntryKind(
        name="watch.scale",
        version=1,
        meaning="The predictive autoscaler changed a service's replicas, ahead of its forecast or reacting to load.",
        evidence=WatchScaleEvidence,
        actors=("*",),
        actions=("scale",),
        subjects=("service:*",),
        outcomes=("ok", "failed"),
    )
)
