"""The facts of alerting: a signal a rule raises, the alert it becomes, and its fingerprint.

A rule evaluation yields :class:`Signal` s (one per series that breaks the rule now). The
manager turns them into :class:`Alert` s that move ``pending -> firing -> resolved``; an alert's
identity is its :func:`fingerprint`, a hash of its labels, so the same breach seen twice is one
alert (deduplication), whatever rule evaluation or restart saw it.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

from finpilot.watch._metrics._promql import parse_selector

Severity = Literal["critical", "warning", "info"]
"""How urgent an alert is; every alert carries one as its ``severity`` label."""

SEVERITIES: tuple[str, ...] = ("critical", "warning", "info")
"""The allowed severities, most urgent first."""

AlertState = Literal["pending", "firing", "resolved"]
"""Where an alert is in its life."""

RuleKind = Literal["metric", "anomaly", "proactive"]
"""What raised the alert: a metric threshold, an anomaly event, or a forecast crossing a limit."""


def fingerprint(labels: Mapping[str, str]) -> str:
    """The alert's identity: 16 base32 characters of SHA-256 over its labels, sorted (order never matters).

    Base32 (a-z, 2-7) rather than hex: 16 hex digits are often all decimal digits, and a run of 13
    or more that passes the Luhn check looks like a card number, which the ledger refuses to store.
    """
    canonical = json.dumps(sorted(labels.items()), separators=(",", ":"), ensure_ascii=False)
    return base64.b32encode(hashlib.sha256(canonical.encode()).digest()).decode()[:16].lower()


@dataclass(frozen=True)
class Signal:
    """One breach a rule sees now: what the manager needs to create or refresh an alert."""

    rule: str
    kind: RuleKind
    labels: Mapping[str, str]
    annotations: Mapping[str, str]
    series: str
    """The series in PromQL selector form, e.g. ``latency_seconds{replica="payments/1"}``."""
    window_start: float
    window_end: float
    value: float | None = None
    threshold: float | None = None
    for_s: float = 0.0
    breach_expected_at: float | None = None
    """Proactive alerts: when the forecast says the limit will be crossed (Unix seconds)."""
    resolve_after_s: float | None = None
    """Event alerts (anomalies): resolve when no new signal came for this long."""
    score: float | None = None
    view: Mapping[str, str] = field(default_factory=dict)
    """How the Metrics page should compute ``series`` to show what fired (kind, window, quantile, by)."""

    @property
    def fingerprint(self) -> str:
        """The fingerprint of the alert this signal feeds."""
        return fingerprint(self.labels)


@dataclass(frozen=True)
class Alert:
    """One alert as the manager keeps it: its signal's facts plus its state and times (Unix seconds)."""

    fingerprint: str
    rule: str
    kind: RuleKind
    labels: Mapping[str, str]
    annotations: Mapping[str, str]
    state: AlertState
    series: str
    window_start: float
    window_end: float
    active_since: float
    last_seen: float
    fired_at: float | None = None
    resolved_at: float | None = None
    value: float | None = None
    threshold: float | None = None
    for_s: float = 0.0
    breach_expected_at: float | None = None
    resolve_after_s: float | None = None
    score: float | None = None
    link: str = ""

    @property
    def name(self) -> str:
        """The ``alertname`` label."""
        return self.labels.get("alertname", self.rule)

    @property
    def severity(self) -> str:
        """The ``severity`` label."""
        return self.labels.get("severity", "warning")

    def to_json(self) -> dict[str, object]:
        """The one JSON shape of an alert (CLI ``--json``, console, webhook extras)."""
        return {
            "fingerprint": self.fingerprint,
            "rule": self.rule,
            "kind": self.kind,
            "state": self.state,
            "labels": dict(self.labels),
            "annotations": dict(self.annotations),
            "severity": self.severity,
            "series": self.series,
            "window": {"start": self.window_start, "end": self.window_end},
            "value": self.value,
            "threshold": self.threshold,
            "score": self.score,
            "active_since": self.active_since,
            "fired_at": self.fired_at,
            "resolved_at": self.resolved_at,
            "breach_expected_at": self.breach_expected_at,
            "link": self.link,
        }


def selector_text(name: str, labels: Mapping[str, str]) -> str:
    """A series as a PromQL selector: ``name{a="x",b="y"}`` (labels sorted, quotes escaped)."""
    inner = ",".join(f'{key}="{_escape(value)}"' for key, value in sorted(labels.items()) if key != "__name__")
    return f"{name}{{{inner}}}" if inner else name


def narrowed_selector(selector: str, labels: Mapping[str, str]) -> str:
    """``selector`` with an equality matcher added for each of ``labels``: the stored series behind one result.

    A rate, an aggregation or a quantile has no metric name of its own; this names the series it
    was computed from, e.g. ``lat_bucket{svc="p"}`` and ``{replica="r2"}`` give
    ``lat_bucket{svc="p",replica="r2"}``.
    """
    pinned = {m.label for m in parse_selector(selector).matchers if m.op == "="}
    extra = selector_text("", {k: v for k, v in labels.items() if k not in pinned})  # '{a="x"}' or ''
    base = selector.strip()
    if not extra:
        return base
    if base.endswith("}"):
        head, inner = base[: base.index("{")], base[base.index("{") + 1 : -1].strip()
        return f"{head}{{{inner + ',' if inner else ''}{extra[1:-1]}}}"
    return base + extra


def chart_view(
    kind: str, window: float | None, quantile: float | None, aggregate: str | None, by: Sequence[str]
) -> dict[str, str]:
    """The Metrics page's parameters that compute a series the way a rule or a live read did."""
    view = {"kind": kind}
    if window:
        view["window"] = f"{window:g}"
    if quantile is not None:
        view["quantile"] = f"{quantile:g}"
    if aggregate is not None:
        view["op"] = aggregate
    if by:
        view["by"] = ",".join(by)
    return view


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
