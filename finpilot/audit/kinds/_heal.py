"""Kinds the self-healing runtime writes: restarts, placement, nodes, drains, spec changes, recovery.

The controller records them (its node agents report restarts as events it records); runbooks,
incident views and the chaos drill read them back.
"""

from __future__ import annotations

from pydantic import ConfigDict, Field

from finpilot.audit._kind import KINDS, EntryKind, Evidence

_REPLICA = ("replica:*",)


class HealRestartEvidence(Evidence):
    """Why and how a replica was restarted: the liveness probe that failed, its exit, or the signal asked for."""

    node: str | None = None
    instance: str | None = None
    slot: str | None = Field(default=None, description="SERVICE/N, the replica's place in the spec.")
    pid: int | None = None
    signal: int | str | None = Field(
        default=None, description="The signal: a number the replica died of, or the name the controller sent."
    )
    reason: str | None = None
    exit: int | None = Field(default=None, description="The replica's exit status (None if it died of a signal).")
    uptime_s: float | None = None
    restarts: int | None = None
    backoff_s: float | None = Field(default=None, description="How long the agent waits before starting it again.")
    probe: str | None = Field(default=None, description="The probe that failed (liveness).")
    failures: int | None = None
    first_failure_to_detection_s: float | None = None
    period_s: float | None = None
    timeout_s: float | None = None
    failure_threshold: int | None = None


HEAL_RESTART = KINDS.declare(
    EntryKind(
        name="heal.restart",
        version=1,
        meaning="A replica exited or failed its liveness probe and was restarted (or not, by policy); "
        "or a restart was requested.",
        evidence=HealRestartEvidence,
        actors=("*",),
        actions=("restart", "kill-and-replace", "none", "terminate", "kill"),
        subjects=_REPLICA,
        outcomes=("ok", "policy", "requested"),
    )
)


class HealStartEvidence(Evidence):
    """Where a replica was placed, or why its process could not start."""

    slot: str | None = None
    node: str | None = None
    pool: str | None = None
    instance: str | None = None
    reason: str | None = Field(default=None, description="Why the process could not start.")


HEAL_START = KINDS.declare(
    EntryKind(
        name="heal.start",
        version=1,
        meaning="A replica was placed on a node and started, or its process failed to start.",
        evidence=HealStartEvidence,
        actors=("*",),
        actions=("place", "start"),
        subjects=_REPLICA,
        outcomes=("ok", "failed"),
    )
)


class HealNodeEvidence(Evidence):
    """What the controller saw of a node: missed heartbeats, its agent's exit, a disk-pressure condition."""

    node: str | None = None
    reason: str | None = None
    agent_exit: int | None = Field(default=None, description="The node agent's exit status; None while it runs.")
    replicas: list[str] | None = Field(default=None, description="Replicas taken out of routing.")
    last_heartbeat_age_s: float | None = None
    heartbeat_period_s: float | None = None
    misses: int | None = Field(default=None, description="Heartbeats missed before a node is NotReady.")
    replicas_lost: list[str] | None = None
    heartbeat_age_s: float | None = None
    leftover_replicas: list[str] | None = Field(default=None, description="Replicas still reported on its return.")
    old_agent_pid: int | None = None
    old_agent_exit: int | None = None
    condition: str | None = None
    simulated: bool | None = None
    schedulable: bool | None = None


HEAL_NODE = KINDS.declare(
    EntryKind(
        name="heal.node",
        version=1,
        meaning="A node changed health: suspect, NotReady, Ready again, under disk pressure, or its agent restarted.",
        evidence=HealNodeEvidence,
        actors=("*",),
        actions=(
            "stop-routing",
            "mark-not-ready",
            "mark-ready",
            "restart-agent",
            "disk-pressure",
            "disk-pressure-cleared",
        ),
        subjects=("node:*",),
        outcomes=("suspect", "NotReady", "Ready", "ok", "DiskPressure"),
    )
)


class HealDrainEvidence(Evidence):
    """One step of draining a node within the disruption budget."""

    node: str | None = None
    slot: str | None = None
    pool: str | None = None
    instance: str | None = Field(default=None, description="The replacement replica started.")
    old: str | None = Field(default=None, description="The replica being moved off.")
    new: str | None = Field(default=None, description="The replica that replaced it.")
    ready_without_old: int | None = None
    ready_left: int | None = None
    min_available: int | None = None
    reason: str | None = None


HEAL_DRAIN = KINDS.declare(
    EntryKind(
        name="heal.drain",
        version=1,
        meaning="A node was cordoned and its replicas moved off one by one, never below the disruption budget.",
        evidence=HealDrainEvidence,
        actors=("*",),
        actions=("cordon", "start-replacement", "stop-old", "stop-unplaceable", "wait", "complete"),
        subjects=("node:*", *_REPLICA),
        outcomes=("ok", "pending", "blocked"),
    )
)


class HealRescheduleEvidence(Evidence):
    """Where a replica lost with its node went, or why it has to wait."""

    slot: str
    reason: str | None = Field(default=None, description="Why the replica cannot be placed now.")
    node: str | None = None
    pool: str | None = None
    instance: str | None = None
    from_node: str | None = Field(default=None, description="The node the replica was lost with.")


HEAL_RESCHEDULE = KINDS.declare(
    EntryKind(
        name="heal.reschedule",
        version=1,
        meaning="A replica lost with its node was started elsewhere, or is held until it can be placed.",
        evidence=HealRescheduleEvidence,
        actors=("*",),
        actions=("reschedule", "hold"),
        subjects=_REPLICA,
        outcomes=("ok", "pending"),
    )
)


class HealStopEvidence(Evidence):
    """Which replica was stopped and why."""

    instance: str
    node: str
    reason: str


HEAL_STOP = KINDS.declare(
    EntryKind(
        name="heal.stop",
        version=1,
        meaning="A replica no longer in the spec (scaled down, or left running on a node that was lost) was stopped.",
        evidence=HealStopEvidence,
        actors=("*",),
        actions=("scale-down", "stop-orphan"),
        subjects=_REPLICA,
        outcomes=("ok",),
    )
)


class HealApplyEvidence(Evidence):
    """The replica counts of the spec now in effect, and for a rollback which spec it left and returned to."""

    services: dict[str, int] = Field(description="Replicas per service in the spec now in effect.")
    from_: str | None = Field(default=None, alias="from", description="Digest of the spec rolled back from.")
    to: str | None = Field(default=None, description="Digest of the spec rolled back to.")
    services_changed: list[str] | None = None
    history_left: int | None = Field(default=None, description="How many more rollbacks are possible.")


HEAL_APPLY = KINDS.declare(
    EntryKind(
        name="heal.apply",
        version=1,
        meaning="The runtime switched to a new spec, or rolled back to the one before.",
        evidence=HealApplyEvidence,
        actors=("*",),
        actions=("apply-spec", "rollback"),
        subjects=("runtime",),
        outcomes=("ok",),
    )
)


class HealRecoveredEvidence(Evidence):
    """A replica ready again after a fault, and how long after the fault's first entry."""

    slot: str
    instance: str
    node: str
    cause: str = Field(description="The kind of the entry that disrupted it (heal.restart, heal.node).")
    cause_action: str
    since_cause_s: float


HEAL_RECOVERED = KINDS.declare(
    EntryKind(
        name="heal.recovered",
        version=1,
        meaning="A replica disrupted by a crash, a hang or a lost node is ready again.",
        evidence=HealRecoveredEvidence,
        actors=("*",),
        actions=("ready",),
        subjects=_REPLICA,
        outcomes=("ok",),
    )
)


class HealEventEvidence(Evidence):
    """What a node agent reported, as it reported it."""

    # An agent event of a kind this controller does not know (a newer agent): its evidence is
    # recorded as sent so that nothing the agent said is lost; known kinds never land here.
    model_config = ConfigDict(extra="allow", frozen=True)

    node: str | None = None
    instance: str | None = None


HEAL_EVENT = KINDS.declare(
    EntryKind(
        name="heal.event",
        version=1,
        meaning="A node agent reported an event of a kind the controller does not declare; recorded as sent.",
        evidence=HealEventEvidence,
        actors=("*",),
        actions=("*",),
        subjects=_REPLICA,
        outcomes=("*",),
    )
)


class RouterEjectionEvidence(Evidence):
    """Which backend the router stopped sending to, and for how long."""

    service: str
    backend: str = Field(description="The replica's id.")
    reason: str
    cooloff_s: float


ROUTER_BACKEND_EJECTED = KINDS.declare(
    EntryKind(
        name="router.backend_ejected",
        version=1,
        meaning="A service's router stopped sending requests to a failing replica for a cool-off period.",
        evidence=RouterEjectionEvidence,
        actors=("*",),
        actions=("eject",),
        subjects=("replica:*",),
        outcomes=("ejected",),
    )
)
