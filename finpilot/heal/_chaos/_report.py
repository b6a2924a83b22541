"""A chaos drill's report: per fault, detection and recovery quantiles, client failures, lost and duplicated payments.

Kept apart from the orchestration so that the figures' definitions live in one short place:
quantiles use the inclusive method over the trials that produced a value; the anchors are
the slow defaults issue 4 names, and ``anchor_over_p95`` says how many times faster the p95
recovery was.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from finpilot.heal._chaos._faults import TrialTiming
from finpilot.heal._chaos._ledger import PaymentsCheck
from finpilot.heal._chaos._traffic import RequestRecord

ANCHORS: dict[str, dict[str, Any]] = {
    "k8s_liveness_restart": {"seconds": 30, "what": "Kubernetes liveness restart (10 s x 3)"},
    "k8s_dead_node": {"seconds": 350, "what": "Kubernetes reschedules pods of a dead node"},
    "patroni_failover": {"seconds": 30, "what": "Patroni failover (11-30 s, ttl 30)"},
    "rds_multi_az": {"seconds": 120, "low": 60, "what": "RDS Multi-AZ failover (60-120 s)"},
}
"""The slow defaults a fault's recovery is compared with (issue 4)."""

FAULT_ANCHORS: dict[str, tuple[str, ...]] = {
    "kill": ("k8s_liveness_restart",),
    "hang": ("k8s_liveness_restart",),
    "node-down": ("k8s_dead_node",),
    "db-primary-down": ("patroni_failover", "rds_multi_az"),
}
"""Which anchors each fault is measured against."""


def quantiles(values: Sequence[float]) -> dict[str, float | int | None]:
    """p50, p95 (inclusive method), max and the count, in seconds rounded to ms; None without values."""
    if not values:
        return {"p50": None, "p95": None, "max": None, "n": 0}
    ordered = sorted(values)
    p95 = ordered[0] if len(ordered) == 1 else statistics.quantiles(ordered, n=20, method="inclusive")[18]
    return {
        "p50": round(statistics.median(ordered), 3),
        "p95": round(p95, 3),
        "max": round(ordered[-1], 3),
        "n": len(ordered),
    }


def _pct(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(q / 100 * len(ordered)) - 1))]


@dataclass
class FaultResult:
    """Everything measured for one fault over its trials."""

    fault: str
    fresh_stack: bool
    heals: bool
    timings: list[TrialTiming] = field(default_factory=list)
    records: list[RequestRecord] = field(default_factory=list)
    payments: PaymentsCheck = field(default_factory=PaymentsCheck)
    traffic_s: float = 0.0
    attempted: int = 0
    notes: list[str] = field(default_factory=list)
    storage: str = "sqlite"
    """Where the payments service kept its ledger for this fault (``sqlite`` or ``postgresql``)."""
    skipped: str | None = None
    """Why the fault did not run (e.g. no PostgreSQL binaries); None when it ran."""

    @property
    def unrecovered(self) -> int:
        """Trials of a healing fault that did not recover in time."""
        return sum(1 for t in self.timings if self.heals and not t.recovered)

    @property
    def ok(self) -> bool:
        """No failed request, no lost or duplicated payment, every trial audited and recovered (or skipped)."""
        if self.skipped is not None:
            return True
        p = self.payments
        audited = len(self.timings) == self.attempted
        return p.failed == 0 and p.lost == 0 and p.duplicated == 0 and self.unrecovered == 0 and audited

    def to_json(self) -> dict[str, Any]:
        """JSON-ready form, with the anchors this fault is compared with."""
        detection = quantiles([t.detection_s for t in self.timings if t.detection_s is not None])
        recovery = quantiles([t.recovery_s for t in self.timings if t.recovery_s is not None])
        latencies = [(r.t1 - r.t0) * 1000 for r in self.records if r.acked]
        retried = [r.attempts - 1 for r in self.records if r.attempts > 1]
        anchors = {}
        for name in FAULT_ANCHORS.get(self.fault, ()):
            seconds = ANCHORS[name]["seconds"]
            p95 = recovery["p95"]
            ratio = round(seconds / p95, 1) if isinstance(p95, float) and p95 > 0 else None
            anchors[name] = {"anchor_s": seconds, "anchor_over_p95": ratio}
        extra: dict[str, Any] = {}
        if any(t.writes_resumed_s is not None or t.rejoin_s is not None for t in self.timings):
            extra["writes_resumed_s"] = quantiles(
                [t.writes_resumed_s for t in self.timings if t.writes_resumed_s is not None]
            )
            extra["rejoin_s"] = quantiles([t.rejoin_s for t in self.timings if t.rejoin_s is not None])
        return {
            "fault": self.fault,
            "skipped": self.skipped,
            "storage": self.storage,
            "trials": self.attempted,
            "recovered": sum(t.recovered for t in self.timings),
            "heals": self.heals,
            "fresh_stack_per_trial": self.fresh_stack,
            "detection_s": detection,
            "recovery_s": recovery,
            **extra,
            "requests": self.payments.requests,
            "rate_per_s": round(self.payments.requests / self.traffic_s, 1) if self.traffic_s else None,
            "failed": self.payments.failed,
            "lost": self.payments.lost,
            "duplicated": self.payments.duplicated,
            "committed_unacked": self.payments.committed_unacked,
            # Requests the client resent with their key (db-primary-down only), and the resends:
            # apart from "failed", which counts only requests that never got a 2xx.
            "retried_requests": len(retried),
            "resends": sum(retried),
            "client_ms": {
                "p50": None if not latencies else round(statistics.median(latencies), 1),
                "p99": None if (p := _pct(latencies, 99)) is None else round(p, 1),
            },
            "anchors": anchors,
            "examples": list(self.payments.examples),
            "notes": list(self.notes),
        }


@dataclass
class ChaosDrillReport:
    """The whole drill: per-fault results, the payments ledger's balance check and the audit log's verification."""

    rate: float
    faults: list[FaultResult] = field(default_factory=list)
    unbalanced: int = 0
    unbalanced_examples: list[str] = field(default_factory=list)
    audit_entries: int = 0
    audit_verified: bool = False
    audit_problems: list[str] = field(default_factory=list)
    injections_audited: int = 0
    scratch: str | None = None
    stack: dict[str, Any] = field(default_factory=dict)
    wall_s: float = 0.0

    @property
    def ok(self) -> bool:
        """True when every fault is ok, the payments ledger balances and the audit log verifies."""
        return all(f.ok for f in self.faults) and self.unbalanced == 0 and self.audit_verified

    def to_json(self) -> dict[str, Any]:
        """One JSON object: per fault figures, the anchors, the payments ledger and the audit log."""
        return {
            "ok": self.ok,
            "rate_per_s": self.rate,
            "faults": {f.fault: f.to_json() for f in self.faults},
            "skipped": {f.fault: f.skipped for f in self.faults if f.skipped is not None},
            "totals": {
                "trials": sum(f.attempted for f in self.faults),
                "requests": sum(f.payments.requests for f in self.faults),
                "failed": sum(f.payments.failed for f in self.faults),
                "lost": sum(f.payments.lost for f in self.faults),
                "duplicated": sum(f.payments.duplicated for f in self.faults),
            },
            "payments_ledger": {"unbalanced": self.unbalanced, "examples": list(self.unbalanced_examples)},
            "audit": {
                "entries": self.audit_entries,
                "verified": self.audit_verified,
                "problems": list(self.audit_problems),
                "chaos_inject_entries": self.injections_audited,
            },
            "anchors": ANCHORS,
            "stack": dict(self.stack),
            "scratch": self.scratch,
            "wall_s": round(self.wall_s, 1),
        }

    def audit_evidence(self) -> dict[str, Any]:
        """The summary a ``chaos.drill`` audit entry carries (counts and seconds; no ids or amounts)."""
        faults = {}
        for f in self.faults:
            data = f.to_json()
            faults[f.fault] = {
                "skipped": data["skipped"],
                "trials": data["trials"],
                "recovered": data["recovered"],
                "detection_p95_s": data["detection_s"]["p95"],
                "recovery_p50_s": data["recovery_s"]["p50"],
                "recovery_p95_s": data["recovery_s"]["p95"],
                "failed": data["failed"],
                "lost": data["lost"],
                "duplicated": data["duplicated"],
            }
            if "writes_resumed_s" in data:
                faults[f.fault]["writes_resumed_p95_s"] = data["writes_resumed_s"]["p95"]
                faults[f.fault]["rejoin_p95_s"] = data["rejoin_s"]["p95"]
        return {
            "faults": faults,
            "rate_per_s": self.rate,
            "unbalanced": self.unbalanced,
            "audit_verified": self.audit_verified,
            "ok": self.ok,
        }
