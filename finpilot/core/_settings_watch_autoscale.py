"""The ``watch.autoscale:`` section of ``finpilot.yaml``: the predictive autoscaler."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from finpilot.core._model import StrictModel


class AutoscaleServiceSettings(StrictModel):
    """One autoscaled service: its load signal, what a replica serves, its bounds and target."""

    signal: str = Field(
        description='Selector of the load counter, e.g. http_requests_total{service="payments"} (its summed rate).'
    )
    per_replica: float = Field(gt=0, description="Load one replica serves, in the signal's units per second.")
    min_replicas: int = Field(default=1, ge=0, description="Never fewer replicas (0 lets an idle service stop).")
    max_replicas: int = Field(default=10, ge=1, description="Never more replicas.")
    target: Literal["runtime", "k8s"] = Field(
        default="runtime", description="Where to act: the local runtime, or Kubernetes."
    )
    k8s_mode: Literal["replicas", "hpa"] = Field(
        default="replicas",
        description="On Kubernetes: set the Deployment's replicas, or raise the HPA's minReplicas ahead of load.",
    )
    namespace: str = Field(default="default", description="Kubernetes namespace of the Deployment or HPA.")

    @model_validator(mode="after")
    def _bounds(self) -> AutoscaleServiceSettings:
        if self.min_replicas > self.max_replicas:
            raise ValueError(f"min_replicas {self.min_replicas} is above max_replicas {self.max_replicas}")
        return self


class WatchAutoscaleSettings(StrictModel):
    """The predictive autoscaler: which services, bounds, cool-downs and the forecaster."""

    enabled: bool = Field(default=False, description="Run the autoscaler beside the runtime.")
    step_s: float = Field(default=15.0, gt=0, description="Seconds between two decisions.")
    startup_s: float = Field(default=60.0, ge=0, description="Seconds from asking for a replica to it serving.")
    level: float = Field(
        default=0.98, gt=0, lt=1, description="Coverage of the forecast interval whose upper bound is provisioned."
    )
    down_window_s: float = Field(
        default=180.0, ge=0, description="Scale down only to the highest target of this window."
    )
    up_cooldown_s: float = Field(default=60.0, ge=0, description="No scale-down for this long after a scale-up.")
    max_margin: float = Field(default=0.3, ge=0, description="Largest margin over the forecast, as a fraction of it.")
    services: dict[str, AutoscaleServiceSettings] = Field(
        default_factory=dict, description="The autoscaled services, by name."
    )
