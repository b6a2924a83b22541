"""Replay one trace against the capacity model under every policy, in one pass.

Per step, each policy sees the metric one scrape old and its own fleet, sets its replica count,
and is then scored: a violated step is one whose demand exceeds its ready capacity, and
replica-hours count every replica asked for (ready or starting).
"""

from __future__ import annotations

import csv
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from finpilot.watch._errors import TraceError
from finpilot.watch._scale._hpa import HpaPolicy
from finpilot.watch._scale._model import CapacityModel, Fleet
from finpilot.watch._scale._oracle import OraclePolicy
from finpilot.watch._scale._policy import Observation, Policy
from finpilot.watch._scale._predictive import PredictivePolicy, PredictiveSettings
from finpilot.watch._scale._trace import Trace


@dataclass
class PolicyResult:
    """How one policy did on one trace."""

    name: str
    violation_minutes: int = 0
    violation_steps: int = 0
    replica_hours: float = 0.0
    actions: int = 0
    scale_ups: int = 0
    scale_downs: int = 0
    peak_replicas: int = 0
    ratio_to_oracle: float | None = None
    decisions: list[int] = field(default_factory=list, repr=False)

    def as_dict(self) -> dict[str, object]:
        """The figures, for JSON output (without the per-step decisions)."""
        return {
            "violation_minutes": self.violation_minutes,
            "violation_steps": self.violation_steps,
            "replica_hours": round(self.replica_hours, 3),
            "ratio_to_oracle": None if self.ratio_to_oracle is None else round(self.ratio_to_oracle, 4),
            "actions": self.actions,
            "scale_ups": self.scale_ups,
            "scale_downs": self.scale_downs,
            "peak_replicas": self.peak_replicas,
        }


def initial_replicas(demand: Sequence[float], model: CapacityModel) -> int:
    """Every policy starts with enough ready replicas for the first start-up delay."""
    return max(model.needed(d) for d in demand[: model.startup_steps + 1])


def simulate(trace: Trace, policies: Sequence[Policy], model: CapacityModel) -> dict[str, PolicyResult]:
    """Run every policy over the trace; ``ratio_to_oracle`` is filled when one is named oracle."""
    demand, times = trace.demand, trace.times
    start = initial_replicas(demand, model)
    hours_per_step = model.step_s / 3600.0
    results: dict[str, PolicyResult] = {}
    for policy in policies:
        fleet = Fleet(model, start)
        result = PolicyResult(policy.name)
        violated_minutes: set[int] = set()
        ready_prev = start
        replica_steps = 0
        for step, now in enumerate(times):
            seen_demand = demand[step - 1] if step else demand[0]
            before = fleet.total
            target = policy.decide(Observation(step, now, seen_demand, ready_prev, before))
            fleet.set_target(step, target)
            if target != before:
                result.actions += 1
                if target > before:
                    result.scale_ups += 1
                else:
                    result.scale_downs += 1
            ready = fleet.ready(step)
            if demand[step] > ready * model.per_replica + 1e-9:
                result.violation_steps += 1
                violated_minutes.add(math.floor(now / 60.0))
            replica_steps += fleet.total
            result.peak_replicas = max(result.peak_replicas, fleet.total)
            result.decisions.append(fleet.total)
            ready_prev = ready
        result.violation_minutes = len(violated_minutes)
        result.replica_hours = replica_steps * hours_per_step
        results[policy.name] = result
    oracle = results.get("oracle")
    if oracle is not None and oracle.replica_hours > 0:
        for result in results.values():
            result.ratio_to_oracle = result.replica_hours / oracle.replica_hours
    return results


HPA_UTILIZATION = 0.7
"""The HPA baseline's target utilisation (a common CPU target; it gives HPA 1.3-1.5x the oracle)."""


@dataclass(frozen=True)
class SimReport:
    """One simulator run: the trace, the model, every policy's settings and figures."""

    trace: Trace
    model: CapacityModel
    predictive: PredictivePolicy
    hpa: HpaPolicy
    results: dict[str, PolicyResult]

    def as_dict(self) -> dict[str, object]:
        """The one JSON shape of ``watch autoscale-sim``."""
        t = self.trace
        return {
            "trace": {
                "name": t.name,
                "rows": t.rows,
                "steps": len(t.times),
                "start": t.times[0],
                "end": t.times[-1] + self.model.step_s,
                "interval_s": t.interval_s,
                "scale": t.scale,
                "peak_rps": max(t.demand),
                "gaps": t.gaps_dict(),
            },
            "model": self.model.as_dict(),
            "settings": {
                "predictive": {**self.predictive.settings.as_dict(), "forecaster": self.predictive.forecaster_name},
                "hpa": self.hpa.settings(),
            },
            "policies": {name: result.as_dict() for name, result in self.results.items()},
        }


def simulate_all(
    trace: Trace,
    model: CapacityModel | None = None,
    settings: PredictiveSettings | None = None,
    hpa_utilization: float = HPA_UTILIZATION,
) -> SimReport:
    """The predictive policy, the HPA baseline and the oracle on one trace."""
    model = model or CapacityModel()
    predictive = PredictivePolicy(model, settings)
    hpa = HpaPolicy(model, target_utilization=hpa_utilization)
    policies: list[Policy] = [predictive, hpa, OraclePolicy(trace.demand, model)]
    return SimReport(trace, model, predictive, hpa, simulate(trace, policies, model))


def write_decisions(path: Path, times: Sequence[float], replicas: Sequence[int]) -> None:
    """Write ``timestamp,replicas`` (Unix seconds), one row per step."""
    try:
        with path.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(["timestamp", "replicas"])
            for t, n in zip(times, replicas, strict=True):
                writer.writerow([f"{t:.0f}" if t == int(t) else repr(t), n])
    except OSError as exc:
        raise TraceError(f"{path}: cannot write the decisions ({exc.strerror}); check --decisions-out") from exc


def read_decisions(path: Path) -> tuple[list[float], list[int]]:
    """Read a decisions CSV written by :func:`write_decisions`."""
    times: list[float] = []
    replicas: list[int] = []
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.reader(handle)
        next(reader, None)
        for row in reader:
            times.append(float(row[0]))
            replicas.append(int(row[1]))
    return times, replicas
