"""Kind of the alert manager: an alert fired, resolved or was notified, or a silence was set or expired.

A ``watch.alert`` entry with action ``fire`` is what a runbook triggers on: its evidence names
the ``service`` and the ``replica`` (or ``instance``) the alert is about, and its subject is
``replica:SERVICE/N`` when there is one, so ``restart: "{slot}"`` acts on that replica.
"""

from __future__ import annotations

from pydantic import Field

from finpilot.audit._kind import KINDS, EntryKind, Evidence


class AlertWindow(Evidence):
    """The span of the series the alert is about (Unix seconds): what its link shows."""

    start: float
    end: float


class SinkOutcome(Evidence):
    """How one delivery to one sink went (never its URL: that may hold a token)."""

    sink: str
    type: str = Field(description="webhook, alertmanager or slack.")
    outcome: str = Field(description="delivered, retrying (kept, tried again later) or failed.")
    attempts: int
    status_code: int | None = None
    error: str | None = Field(default=None, description="What went wrong, without the URL.")


class SilenceFacts(Evidence):
    """A silence as it was set or expired."""

    id: str
    matchers: list[str]
    starts_at: str
    ends_at: str
    created_by: str
    comment: str


class WatchAlertEvidence(Evidence):
    """The alert (rule, identity, labels, what was measured against what) or the silence the entry is about."""

    rule: str | None = Field(default=None, description="The rule's id (its name, else its alert name).")
    rule_kind: str | None = Field(default=None, description="metric, anomaly or proactive.")
    fingerprint: str | None = Field(default=None, description="16 base32 characters of SHA-256 over the sorted labels.")
    alertname: str | None = None
    severity: str | None = Field(default=None, description="critical, warning or info.")
    labels: dict[str, str] = Field(default_factory=dict)
    service: str | None = Field(default=None, description="The labels' service, for runbooks.")
    replica: str | None = Field(default=None, description="The labels' replica (SERVICE/N), for runbooks.")
    instance: str | None = Field(default=None, description="The labels' instance, for runbooks.")
    series: str | None = Field(default=None, description="The series, as a PromQL selector.")
    window: AlertWindow | None = None
    value: float | None = None
    threshold: float | None = None
    score: float | None = Field(default=None, description="anomaly rules: the detector's score.")
    breach_expected_at: str | None = Field(
        default=None, description="proactive rules: when the forecast crosses the limit (RFC 3339)."
    )
    link: str | None = Field(default=None, description="The console page of the series and window.")
    group: str | None = Field(default=None, description="notify: the group key.")
    sinks: list[SinkOutcome] = Field(default_factory=list, description="notify: the delivery outcomes.")
    silence: SilenceFacts | None = Field(default=None, description="silence and expire: the silence.")


WATCH_ALERT = KINDS.declare(
    EntryKind(
        name="watch.alert",
        version=1,
        meaning="An alert fired, resolved or was sent to a sink, or a silence was set or expired.",
        evidence=WatchAlertEvidence,
        actors=("watch:*", "cli:*", "console:*", "token:*"),
        actions=("fire", "resolve", "notify", "silence", "expire"),
        subjects=("alert:*", "replica:*", "instance:*", "silence:*"),
        outcomes=("firing", "resolved", "delivered", "retrying", "failed", "active", "expired"),
    )
)
