"""Kinds the runbook engine writes: each run's trigger, its steps, rate-limit refusals, pages and escalations.

The actor is always ``runbook:<name>`` (``runbook:backup`` and ``runbook:engine`` for the
escalations of the backup scheduler and of the engine itself), which is how the engine knows
never to trigger on its own entries.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field

from finpilot.audit._kind import KINDS, EntryKind, Evidence

_ACTORS = ("runbook:*",)
_SUBJECTS = ("runbook:*",)
_STEPS = ("restart", "scale", "rollback", "failover", "freeze", "page", "run")


class TriggerRef(Evidence):
    """The entry that started a run: its kind, subject, action, outcome and ledger index."""

    kind: str
    subject: str
    action: str
    outcome: str
    index: int | None = Field(description="Its ledger index; None when it could not be found among the newest.")


class Delivery(Evidence):
    """What became of a page sent to the webhook."""

    webhook: str | None = Field(description="Where it was sent; None when no webhook is configured (ledger only).")
    delivered: bool
    status: int | None = Field(default=None, description="The webhook's HTTP status.")
    error: str | None = Field(default=None, description="The transport error's class name.")


class StepError(Evidence):
    """The error a step (or a scheduled job) failed with."""

    type: str = Field(description="The exception's class name.")
    message: str | None = None
    fix: str | None = None


class RunbookTriggerEvidence(Evidence):
    """Which runbook matched which entry, and the steps it is about to run."""

    runbook: str
    file: str = Field(description="The runbook's file name.")
    trigger: TriggerRef
    plan: list[str] = Field(description="Each step as 'action {params}', in order.")


RUNBOOK_TRIGGER = KINDS.declare(
    EntryKind(
        name="runbook.trigger",
        version=1,
        meaning="An audit entry matched a runbook, which is about to run the steps listed.",
        evidence=RunbookTriggerEvidence,
        actors=_ACTORS,
        actions=("trigger",),
        subjects=_SUBJECTS,
        outcomes=("matched",),
    )
)


class _StepFields(Evidence):
    """Which step of which run."""

    runbook: str
    step: int = Field(description="The step's position in the runbook, from 0.")
    action: str
    trigger: TriggerRef
    target: str | None = Field(default=None, description="What the step acts on (a replica, a service, a node).")


class RunbookActionEvidence(_StepFields):
    """One step's result: what the action did and how long it took, or its error."""

    # What each action handler returns (a restart's replica, a scale's counts, a command's exit
    # and log): handlers are pluggable (register_action), so their result is theirs to shape.
    detail: dict[str, Any] | None = None
    duration_s: float | None = None
    error: StepError | None = None


RUNBOOK_ACTION = KINDS.declare(
    EntryKind(
        name="runbook.action",
        version=1,
        meaning="A runbook step ran (restart, scale, rollback, failover, freeze, page or a command) and succeeded "
        "or failed.",
        evidence=RunbookActionEvidence,
        actors=_ACTORS,
        actions=_STEPS,
        subjects=_SUBJECTS,
        outcomes=("ok", "failed"),
    )
)


class RunbookRateLimitedEvidence(_StepFields):
    """Why the rate limiter refused a step, and when the runbook may act again."""

    reason: str
    count: int
    limit: int
    window_s: float
    cooldown_s: float | None
    retry_after_s: float


RUNBOOK_RATE_LIMITED = KINDS.declare(
    EntryKind(
        name="runbook.rate_limited",
        version=1,
        meaning="A runbook's rate limit refused a step, and the run stopped there.",
        evidence=RunbookRateLimitedEvidence,
        actors=_ACTORS,
        actions=_STEPS,
        subjects=_SUBJECTS,
        outcomes=("refused",),
    )
)


class RunbookEscalateEvidence(Evidence):
    """Who was paged about what, and whether the page arrived, with the facts of what went wrong."""

    source: str = Field(description="The runbook, or the part of finpilot (backup, engine), that escalated.")
    severity: str
    message: str
    delivery: Delivery
    runbook: str | None = None
    step: int | None = None
    action: str | None = None
    trigger: TriggerRef | None = None
    target: str | None = None
    error: StepError | None = None
    reason: str | None = None
    count: int | None = None
    limit: int | None = None
    window_s: float | None = None
    cooldown_s: float | None = None
    retry_after_s: float | None = None
    interval_s: float | None = Field(default=None, description="The backup schedule's period.")
    dropped: int | None = Field(default=None, description="Audit events the engine's full queue dropped.")


RUNBOOK_ESCALATE = KINDS.declare(
    EntryKind(
        name="runbook.escalate",
        version=1,
        meaning="A person was paged because a runbook step failed, a rate limit tripped, or a scheduled job failed.",
        evidence=RunbookEscalateEvidence,
        actors=_ACTORS,
        actions=("page",),
        subjects=_SUBJECTS,
        outcomes=("escalated",),
    )
)


class RunbookPageEvidence(Evidence):
    """The page a runbook step sent, and whether it arrived."""

    runbook: str
    message: str
    severity: str
    trigger: TriggerRef
    delivery: Delivery


RUNBOOK_PAGE = KINDS.declare(
    EntryKind(
        name="runbook.page",
        version=1,
        meaning="A runbook's page step paged a person (sent, kept in the ledger only, or not delivered).",
        evidence=RunbookPageEvidence,
        actors=_ACTORS,
        actions=("page",),
        subjects=_SUBJECTS,
        outcomes=("sent", "ledger-only", "undelivered"),
    )
)
