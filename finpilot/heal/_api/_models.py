"""Request and response models of the controller API: every body it takes and gives is declared here."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import ConfigDict, Field

from finpilot.core import StrictModel

ACTOR_PATTERN = r"^(cli|api):\S+$"


class Body(StrictModel):
    """A request body: these fields and no others."""


class Answer(StrictModel):
    """A response body: these fields and no others."""


Actor = Field(
    default="api:local", pattern=ACTOR_PATTERN, max_length=200, description="who asks (audited): cli:NAME or api:NAME"
)


class ActorBody(Body):
    """Who asks for an action on a node."""

    actor: str = Actor


class FaultBody(Body):
    """A fault to inject (or, with ``clear``, to lift: disk-full only)."""

    fault: Literal["kill", "hang", "latency", "node-down", "disk-full"]
    target: str = Field(max_length=200, description="a replica SERVICE[/N] (kill, hang, latency) or a node name")
    ms: float | None = Field(default=None, ge=0, description="added latency in milliseconds (latency only)")
    clear: bool = Field(default=False, description="lift the fault (disk-full only)")
    actor: str = Actor


class SpecBody(Body):
    """A whole ``finpilot.yaml`` text; its ``runtime`` section becomes the desired spec."""

    yaml: str = Field(max_length=1_000_000)
    source: str = Field(default="finpilot.yaml", max_length=500, description="where the text came from (for errors)")


class RollbackBody(Body):
    """Roll back the last spec change; with ``service``, only if that change touched it."""

    service: str | None = None
    actor: str = Actor


class NodeState(Answer):
    """One node as the controller sees it."""

    status: str
    pool: str | None
    cordoned: bool
    drain: str | None = Field(description="draining, drained or blocked:SLOT; None when not drained")
    heartbeat_age_s: float
    agent_pid: int
    conditions: list[str]


class ServiceState(Answer):
    """One service: desired and ready replicas, its router's address, and slots waiting for a node."""

    replicas: int
    ready: int
    classification: str
    router: list[str | int] | None = Field(description="[host, port] of the service's router, if it has one")
    pending: dict[str, str] = Field(description="slot -> why it has no replica yet")


class ReplicaState(Answer):
    """One replica (instance) of a service on a node."""

    service: str
    slot: str
    node: str
    port: int | None
    pid: int | None
    state: str
    ready: bool
    restarts: int
    role: Literal["serving", "replacement"]


class RuntimeStatus(Answer):
    """Nodes, services and replicas, each by name."""

    nodes: dict[str, NodeState]
    services: dict[str, ServiceState]
    replicas: dict[str, ReplicaState]


class DrainStarted(Answer):
    """The node is cordoned; its replicas move off as disruption budgets allow (see its ``drain`` status)."""

    node: str
    state: Literal["draining"]


class NodeRestarted(Answer):
    """A fresh agent runs for the node; it is Ready again once it beats."""

    node: str
    agent_pid: int
    t: float


class FaultInjected(StrictModel):
    """What was done, as recorded in the ``chaos.inject`` entry. The fields present depend on the fault:
    kill and hang name the instance, pid and signal; latency the instances and ms; node-down the node,
    its agent and the replicas it ran; disk-full the node, ``disk_pressure`` and whether it ``changed``."""

    fault: str | None = None
    instance: str | None = None
    instances: list[str] | None = None
    node: str | None = None
    pid: int | None = None
    signal: str | None = None
    ms: float | None = None
    agent_pid: int | None = None
    replicas: list[str] | None = None
    disk_pressure: bool | None = None
    changed: bool | None = None
    t: float | None = None


class SpecApplied(Answer):
    """The new spec is the desired state."""

    applied: bool


class ScaleBody(Body):
    """A service's new replica count (applied as a copy of the running spec)."""

    replicas: int = Field(ge=0, le=1000)


class ServiceScaled(Answer):
    """The service's replicas before and after (the change is audited ``heal.apply``)."""

    # StrictModel's config, plus: fields may be filled by name as well as by alias.
    model_config = ConfigDict(populate_by_name=True)

    service: str
    from_replicas: int = Field(alias="from")
    to_replicas: int = Field(alias="to")


class SpecRolledBack(Answer):
    """The spec before the last change is the desired state again."""

    # StrictModel's config, plus: fields may be filled by name as well as by alias.
    model_config = ConfigDict(populate_by_name=True)

    rolled_back: bool
    from_digest: str = Field(alias="from")
    to_digest: str = Field(alias="to")
    services_changed: list[str]
    services: dict[str, int] = Field(description="service -> replicas in the restored spec")
    history_left: int


class ArmBody(Body):
    """One release arm: environment overrides and a replica count."""

    env: dict[str, str] = Field(default_factory=dict, description="merged over the service's env")
    replicas: int = Field(ge=0, le=1000)


class ArmsBody(Body):
    """The release arms a service should have (others stop), and optionally a revision of its own replicas."""

    arms: dict[str, ArmBody] = Field(description="arm name (a DNS label part) -> arm")
    stable: ArmBody | None = Field(default=None, description="revise the service itself (a promotion)")


class SharesBody(Body):
    """The traffic split of a service's router by group (stable or an arm name), in percent."""

    shares: dict[str, Annotated[int, Field(ge=0, le=100)]] = Field(
        description="group -> percent; groups left out get none; {} = equal weights"
    )


class ArmsSet(Answer):
    """The arms now declared."""

    service: str
    arms: dict[str, int] = Field(description="arm -> replicas")


class SharesSet(Answer):
    """The traffic split now applied."""

    service: str
    shares: dict[str, int]


class GroupState(Answer):
    """One group of replicas behind a service's router."""

    replicas: int
    running: int
    ready: int


class ArmsState(Answer):
    """A service's groups (stable and its arms) and the stable version's env and replica count."""

    groups: dict[str, GroupState]
    env: dict[str, str]
    replicas: int


class GroupSamples(Answer):
    """Per group, the requests its replicas finished: [unix time, latency ms, error] each, oldest first."""

    groups: dict[str, list[tuple[float, float, bool]]]
