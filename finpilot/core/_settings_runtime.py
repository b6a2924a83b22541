"""The ``runtime:`` section of ``finpilot.yaml``: nodes, pools and the services the healer keeps running.

The models live in core (core owns every config model, and core must not import the heal
capability); :mod:`finpilot.heal` re-exports them. Checks that span several fields raise
:class:`FieldProblem`, so an invalid spec is rejected with the exact field path and a fix
before anything running is touched.
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import Field, model_validator

from finpilot.core._field_problem import FieldProblem
from finpilot.core._model import StrictModel
from finpilot.core._secret import SecretRef

Classification = Literal["pci", "pii", "public"]
"""Data classification of a service: cardholder data (``pci``), personal data (``pii``) or neither."""

_NAME = re.compile(r"^[a-z][a-z0-9-]{0,62}$")


class ProbeSpec(StrictModel):
    """One health probe; exactly one of ``http``, ``tcp`` or ``exec`` says what is probed."""

    http: str | None = Field(
        default=None, pattern=r"^/", description="HTTP path probed with GET on the replica's port; 2xx/3xx passes."
    )
    tcp: bool = Field(default=False, description="Pass when a TCP connection to the replica's port opens.")
    exec: list[str] | None = Field(default=None, description="Command run on the node; exit status 0 passes.")
    interval_s: float = Field(default=0.5, gt=0, le=3600, description="Seconds between probes.")
    timeout_s: float = Field(default=0.5, gt=0, le=3600, description="Seconds a probe may take before it fails.")
    failure_threshold: int = Field(default=3, ge=1, le=1000, description="Consecutive failures that fail the probe.")
    initial_delay_s: float = Field(default=0.0, ge=0, le=3600, description="Seconds after start before probing.")

    @model_validator(mode="after")
    def _one_target(self) -> ProbeSpec:
        targets = [name for name, set_ in (("http", self.http), ("tcp", self.tcp), ("exec", self.exec)) if set_]
        if len(targets) != 1:
            raise FieldProblem(
                "a probe needs exactly one target" + (f", not {' and '.join(targets)}" if targets else ""),
                fix="set one of 'http: /healthz', 'tcp: true' or 'exec: [cmd, ...]'",
            )
        if self.exec is not None and not self.exec:
            raise FieldProblem("an exec probe needs a command", path=("exec",), fix="e.g. exec: [true]")
        return self


class ProbesSpec(StrictModel):
    """The three probes; any may be left out."""

    liveness: ProbeSpec | None = Field(default=None, description="Fails -> the replica is killed and restarted.")
    readiness: ProbeSpec | None = Field(default=None, description="Fails -> the router stops sending it traffic.")
    startup: ProbeSpec | None = Field(
        default=None, description="Until it passes, liveness is not checked (slow starters)."
    )


class RestartSpec(StrictModel):
    """When and how fast a replica that exits is started again."""

    policy: Literal["always", "on-failure", "never"] = Field(
        default="always", description="Restart on any exit, only on a non-zero exit, or never."
    )
    backoff_initial_s: float = Field(default=0.0, ge=0, le=3600, description="Delay before the first restart.")
    backoff_max_s: float = Field(default=10.0, ge=0, le=3600, description="The delay never grows beyond this.")
    backoff_multiplier: float = Field(
        default=2.0, ge=1, le=100, description="Each further restart waits this x longer."
    )
    backoff_step_s: float = Field(
        default=0.1, gt=0, le=3600, description="Second delay when the first is 0 (then it grows by the multiplier)."
    )
    reset_after_s: float = Field(
        default=10.0, gt=0, le=86400, description="A replica healthy this long starts its back-off from scratch."
    )

    @model_validator(mode="after")
    def _ordered(self) -> RestartSpec:
        if self.backoff_max_s < self.backoff_initial_s:
            raise FieldProblem(
                f"backoff_max_s ({self.backoff_max_s}) is below backoff_initial_s ({self.backoff_initial_s})",
                path=("backoff_max_s",),
                fix="make backoff_max_s at least backoff_initial_s",
            )
        return self


class ResourcesSpec(StrictModel):
    """Resource requests/limits (enforced on Kubernetes; informative on the local runtime)."""

    cpu: str = Field(default="500m", pattern=r"^\d+(\.\d+)?m?$", description="CPU, e.g. 500m or 1.")
    memory: str = Field(default="256Mi", pattern=r"^\d+(Ki|Mi|Gi)?$", description="Memory, e.g. 256Mi.")


class DisruptionSpec(StrictModel):
    """Disruption budget honoured by voluntary actions (drain)."""

    min_available: int = Field(default=1, ge=0, le=10000, description="Ready replicas that must stay during a drain.")


class RouterSpec(StrictModel):
    """The health-aware HTTP router in front of a service (local runtime)."""

    host: str = Field(default="127.0.0.1", description="Address the router listens on.")
    port: int = Field(default=0, ge=0, le=65535, description="Router TCP port (0 picks a free one).")
    retries: int = Field(default=2, ge=0, le=10, description="Further replicas tried when one fails before replying.")


class ServiceSpec(StrictModel):
    """One service the runtime keeps running: what to run, how many, where, and how to tell it is healthy."""

    module: str | None = Field(
        default=None,
        pattern=r"^[A-Za-z_][A-Za-z0-9_.]*$",
        description="Python module run as `python -m MODULE ARGS` (pre-imported, so restarts are fast).",
    )
    command: list[str] | None = Field(default=None, description="Or an argv to run instead of a module.")
    args: list[str] = Field(
        default_factory=list, description="Arguments; {port} becomes the replica's http port, {replica} its index."
    )
    replicas: int = Field(default=1, ge=0, le=1000, description="How many replicas to keep running.")
    classification: Classification = Field(
        default="public", description="Data the service handles; limits the node pools it may run in."
    )
    env: dict[str, str] = Field(default_factory=dict, description="Plain environment variables for each replica.")
    secrets: dict[str, SecretRef] = Field(
        default_factory=dict,
        description="Environment variables whose values come from the host, by reference: {env: NAME} or {file: PATH}.",
    )
    ports: dict[str, int] = Field(
        default_factory=lambda: {"http": 0},
        description="Named ports; 0 lets the node pick one per replica. 'http' is the one probes and the router use.",
    )
    probes: ProbesSpec = Field(default_factory=ProbesSpec, description="Liveness, readiness and startup probes.")
    restart: RestartSpec = Field(default_factory=RestartSpec, description="Restart policy and back-off.")
    resources: ResourcesSpec = Field(default_factory=ResourcesSpec, description="Resource requests and limits.")
    depends_on: list[str] = Field(default_factory=list, description="Services that must be ready first.")
    disruption: DisruptionSpec = Field(default_factory=DisruptionSpec, description="Disruption budget.")
    node_selector: dict[str, str] = Field(
        default_factory=dict, description="Labels a node must carry to run this service."
    )
    router: RouterSpec | None = Field(default=None, description="Put a router in front (local runtime).")

    @model_validator(mode="after")
    def _shape(self) -> ServiceSpec:
        if (self.module is None) == (self.command is None):
            raise FieldProblem(
                "a service needs exactly one of 'module' or 'command'",
                fix="e.g. module: finpilot_payments, or command: [/usr/bin/app, --flag]",
            )
        if self.command is not None and not self.command:
            raise FieldProblem("the command is empty", path=("command",), fix="give the program and its arguments")
        for name in ("liveness", "readiness", "startup"):
            probe: ProbeSpec | None = getattr(self.probes, name)
            if probe is not None and (probe.http or probe.tcp) and "http" not in self.ports:
                raise FieldProblem(
                    f"the {name} probe targets the replica's port, but the service declares no 'http' port",
                    path=("probes", name),
                    fix="add ports: {http: 0}, or use an exec probe",
                )
        if self.disruption.min_available > self.replicas:
            raise FieldProblem(
                f"min_available ({self.disruption.min_available}) is more than replicas ({self.replicas}), "
                "so no replica could ever be drained",
                path=("disruption", "min_available"),
                fix=f"lower min_available to at most {self.replicas}, or raise replicas",
            )
        return self


class NodeSpec(StrictModel):
    """A (local) node: a supervisor of replicas, in a pool."""

    name: str = Field(pattern=r"^[a-z][a-z0-9-]{0,62}$", description="Node name, unique.")
    pool: str = Field(description="Pool the node belongs to (a key of 'pools').")
    labels: dict[str, str] = Field(default_factory=dict, description="Labels matched by services' node_selector.")


class PoolSpec(StrictModel):
    """A node pool and the data classifications it may hold (private pools hold cardholder data)."""

    classifications: list[Classification] = Field(
        default_factory=lambda: list[Classification](["public"]), description="Classifications admitted in this pool."
    )


class RuntimeSettings(StrictModel):
    """The ``runtime:`` section: nodes, pools, services and the healer's timing."""

    nodes: list[NodeSpec] = Field(default_factory=list, description="Nodes the local runtime starts.")
    pools: dict[str, PoolSpec] = Field(default_factory=dict, description="Node pools by name.")
    services: dict[str, ServiceSpec] = Field(default_factory=dict, description="Services by name.")
    heartbeat_interval_s: float = Field(default=0.3, gt=0, le=60, description="Seconds between node heartbeats.")
    heartbeat_misses: int = Field(
        default=3, ge=1, le=100, description="Missed heartbeats after which a node is NotReady."
    )
    reconcile_interval_s: float = Field(default=0.1, gt=0, le=60, description="Seconds between reconcile passes.")
    controller_port: int = Field(default=0, ge=0, le=65535, description="Controller API port (0 picks a free one).")

    def admits(self, node: NodeSpec, service: ServiceSpec) -> bool:
        """Whether placement rules allow ``service`` on ``node`` (pool classification and node selector)."""
        pool = self.pools.get(node.pool)
        if pool is None or service.classification not in pool.classifications:
            return False
        return all(node.labels.get(key) == value for key, value in service.node_selector.items())

    @model_validator(mode="after")
    def _consistent(self) -> RuntimeSettings:
        seen: set[str] = set()
        for i, node in enumerate(self.nodes):
            if node.name in seen:
                raise FieldProblem(
                    f"node name '{node.name}' is used twice",
                    path=("nodes", i, "name"),
                    fix="give each node its own name",
                )
            seen.add(node.name)
            if node.pool not in self.pools:
                known = ", ".join(sorted(self.pools)) or "none defined"
                raise FieldProblem(
                    f"unknown pool '{node.pool}' (pools: {known})",
                    path=("nodes", i, "pool"),
                    fix=f"use one of the pools, or add '{node.pool}' under runtime.pools",
                )
        for name, service in self.services.items():
            if not _NAME.match(name):
                raise FieldProblem(
                    f"service name '{name}' is not a DNS label",
                    path=("services", name),
                    fix="use lower-case letters, digits and '-', starting with a letter (at most 63)",
                )
            for j, dep in enumerate(service.depends_on):
                if dep not in self.services or dep == name:
                    raise FieldProblem(
                        f"depends on unknown service '{dep}'" if dep != name else "a service cannot depend on itself",
                        path=("services", name, "depends_on", j),
                        fix=f"name one of: {', '.join(sorted(set(self.services) - {name})) or '(no other services)'}",
                    )
            if service.replicas and self.nodes and not any(self.admits(node, service) for node in self.nodes):
                admitting = sorted(
                    p for p, pool in self.pools.items() if service.classification in pool.classifications
                )
                raise FieldProblem(
                    f"impossible placement: no node may run a '{service.classification}' service "
                    f"(pools admitting it: {', '.join(admitting) or 'none'}"
                    + (f"; node_selector {service.node_selector}" if service.node_selector else "")
                    + ")",
                    path=("services", name, "classification"),
                    fix=f"add a node in a pool whose classifications include '{service.classification}'",
                )
        self._no_cycles()
        return self

    def _no_cycles(self) -> None:
        state: dict[str, int] = {}

        def visit(name: str, trail: list[str]) -> None:
            if state.get(name) == 2:
                return
            if state.get(name) == 1:
                loop = " -> ".join([*trail[trail.index(name) :], name])
                raise FieldProblem(
                    f"dependency cycle: {loop}", path=("services", name, "depends_on"), fix="break the cycle"
                )
            state[name] = 1
            for dep in self.services[name].depends_on:
                visit(dep, [*trail, name])
            state[name] = 2

        for name in self.services:
            visit(name, [])
