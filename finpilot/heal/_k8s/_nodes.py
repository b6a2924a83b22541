"""Dead-node recovery on Kubernetes: cordon a node NotReady too long and evict its pods.

Kubernetes by itself waits about 350 s to move pods off a dead node (node-monitor grace,
then the 300 s ``not-ready``/``unreachable`` toleration). The healer shortens that: once a
node has been NotReady for ``not_ready_after_s`` (default 15 s) it cordons the node, evicts
its pods through the Eviction API (which honours PodDisruptionBudgets), and force-deletes
pods still stuck terminating ``force_delete_after_s`` later, since a dead kubelet can never
confirm their end. It refuses to act when too many nodes look dead at once: that is far more
likely a partition of the healer (or of the control plane) than a mass failure.

:func:`plan_dead_nodes` is the whole decision, on plain data; :class:`DeadNodeHealer` runs it
against a :class:`ClusterApi`. :class:`KubernetesCluster` implements that interface with the
official client. That implementation has NOT been run against a live cluster here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, Protocol

from finpilot.audit import Ledger
from finpilot.audit.kinds import K8S_DEAD_NODE
from finpilot.core import Clock, InputError, StorageError, utc_now


@dataclass(frozen=True)
class NodeState:
    """A node as the healer sees it: ``ready`` and since when (the Ready condition's last transition)."""

    name: str
    ready: bool
    since: datetime
    unschedulable: bool = False


@dataclass(frozen=True)
class PodState:
    """A pod on a node. DaemonSet and static (mirror) pods are never evicted: they belong to the node."""

    namespace: str
    name: str
    node: str
    owner_kind: str | None = None
    mirror: bool = False
    deleting_since: datetime | None = None


@dataclass(frozen=True)
class NodeAction:
    """One step the healer takes: cordon a node, evict a pod, or force-delete a pod stuck terminating."""

    kind: Literal["cordon", "evict", "force_delete"]
    node: str
    pod: str | None = None
    namespace: str | None = None
    reason: str = ""

    def to_json(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "kind": self.kind,
            "node": self.node,
            "pod": self.pod,
            "namespace": self.namespace,
            "reason": self.reason,
        }


@dataclass(frozen=True)
class DeadNodePolicy:
    """When the healer acts."""

    not_ready_after_s: float = 15.0
    force_delete_after_s: float = 30.0
    max_dead_fraction: float = 0.5

    def __post_init__(self) -> None:
        if self.not_ready_after_s < 0 or self.force_delete_after_s < 0:
            raise InputError("dead-node timings must be >= 0", field="not_ready_after_s")
        if not 0 < self.max_dead_fraction <= 1:
            raise InputError("max_dead_fraction must be in (0, 1]", field="max_dead_fraction")


@dataclass(frozen=True)
class DeadNodePlan:
    """What to do now, and why nothing more (``held_back`` explains a refusal)."""

    actions: list[NodeAction]
    dead: list[str]
    held_back: str | None = None


def plan_dead_nodes(
    nodes: Sequence[NodeState], pods: Sequence[PodState], now: datetime, policy: DeadNodePolicy | None = None
) -> DeadNodePlan:
    """Decide the cordons, evictions and force-deletes for nodes NotReady longer than the policy allows."""
    policy = policy or DeadNodePolicy()
    dead = sorted(n.name for n in nodes if not n.ready and (now - n.since).total_seconds() >= policy.not_ready_after_s)
    if not dead:
        return DeadNodePlan([], [])
    if len(dead) > policy.max_dead_fraction * len(nodes):
        return DeadNodePlan(
            [],
            dead,
            held_back=(
                f"{len(dead)} of {len(nodes)} nodes are NotReady, above the {policy.max_dead_fraction:.0%} limit: "
                "likely a partition, not dead nodes; paging instead of evicting"
            ),
        )
    by_name = {n.name: n for n in nodes}
    actions: list[NodeAction] = []
    for name in dead:
        node = by_name[name]
        age = (now - node.since).total_seconds()
        if not node.unschedulable:
            actions.append(NodeAction("cordon", name, reason=f"NotReady for {age:.1f} s"))
        for pod in sorted((p for p in pods if p.node == name), key=lambda p: (p.namespace, p.name)):
            if pod.mirror or pod.owner_kind == "DaemonSet":
                continue
            if pod.deleting_since is None:
                actions.append(NodeAction("evict", name, pod.name, pod.namespace, f"node NotReady for {age:.1f} s"))
            elif (now - pod.deleting_since).total_seconds() >= policy.force_delete_after_s:
                stuck = (now - pod.deleting_since).total_seconds()
                actions.append(
                    NodeAction(
                        "force_delete", name, pod.name, pod.namespace, f"terminating {stuck:.1f} s on a dead node"
                    )
                )
    return DeadNodePlan(actions, dead)


class ClusterApi(Protocol):
    """What the healer needs from a cluster."""

    def nodes(self) -> list[NodeState]:
        """Every node with its readiness."""
        ...

    def pods_on(self, node: str) -> list[PodState]:
        """Pods bound to a node."""
        ...

    def cordon(self, node: str) -> None:
        """Mark the node unschedulable."""
        ...

    def evict(self, namespace: str, pod: str) -> bool:
        """Evict through the Eviction API; False when a disruption budget refuses it for now."""
        ...

    def force_delete(self, namespace: str, pod: str) -> None:
        """Delete with a zero grace period."""
        ...


def _pod_of(action: NodeAction) -> tuple[str, str]:
    if action.namespace is None or action.pod is None:
        raise InputError(f"{action.kind} needs a pod", field="pod")
    return action.namespace, action.pod


class DeadNodeHealer:
    """Runs :func:`plan_dead_nodes` against a cluster; each action is an audit entry written before it is taken."""

    def __init__(
        self,
        cluster: ClusterApi,
        ledger: Ledger,
        policy: DeadNodePolicy | None = None,
        *,
        actor: str = "finpilot:healer",
        clock: Clock = utc_now,
    ) -> None:
        self._cluster = cluster
        self._ledger = ledger
        self._policy = policy or DeadNodePolicy()
        self._actor = actor
        self._clock = clock

    def tick(self) -> DeadNodePlan:
        """Look once and act; return the plan (with ``held_back`` set when it refused to act)."""
        nodes = self._cluster.nodes()
        now = self._clock()
        suspect = [n.name for n in nodes if not n.ready]
        pods = [p for name in suspect for p in self._cluster.pods_on(name)]
        plan = plan_dead_nodes(nodes, pods, now, self._policy)
        if plan.held_back is not None:
            self._audit("hold", "cluster", "refused", {"dead": plan.dead, "reason": plan.held_back})
            return plan
        for action in plan.actions:
            subject = f"node:{action.node}" if action.pod is None else f"pod:{action.namespace}/{action.pod}"
            self._audit(action.kind, subject, "started", action.to_json())
            if action.kind == "cordon":
                self._cluster.cordon(action.node)
            elif action.kind == "evict":
                if not self._cluster.evict(*_pod_of(action)):
                    self._audit(action.kind, subject, "refused", {**action.to_json(), "why": "disruption budget"})
            else:
                self._cluster.force_delete(*_pod_of(action))
        return plan

    def _audit(self, action: str, subject: str, outcome: str, evidence: dict[str, Any]) -> None:
        self._ledger.append(
            K8S_DEAD_NODE.entry(
                actor=self._actor,
                action=action,
                subject=subject,
                outcome=outcome,
                evidence=evidence,
            )
        )


class KubernetesCluster:
    """:class:`ClusterApi` over the official client, from a kubeconfig. NOT run against a live cluster here."""

    def __init__(self, api_client: Any) -> None:
        from kubernetes import client

        # The client's generated types mark every field optional; read them as Any and let the API's shape speak.
        self._core: Any = client.CoreV1Api(api_client)
        self._client: Any = client

    def nodes(self) -> list[NodeState]:
        """Nodes with their Ready condition."""
        out = []
        for node in self._core.list_node().items:
            ready = next((c for c in node.status.conditions or [] if c.type == "Ready"), None)
            out.append(
                NodeState(
                    name=node.metadata.name,
                    ready=ready is not None and ready.status == "True",
                    since=ready.last_transition_time if ready is not None else utc_now(),
                    unschedulable=bool(node.spec.unschedulable),
                )
            )
        return out

    def pods_on(self, node: str) -> list[PodState]:
        """Pods bound to ``node``, across namespaces."""
        out = []
        for pod in self._core.list_pod_for_all_namespaces(field_selector=f"spec.nodeName={node}").items:
            owners = pod.metadata.owner_references or []
            annotations = pod.metadata.annotations or {}
            out.append(
                PodState(
                    namespace=pod.metadata.namespace,
                    name=pod.metadata.name,
                    node=node,
                    owner_kind=owners[0].kind if owners else None,
                    mirror="kubernetes.io/config.mirror" in annotations,
                    deleting_since=pod.metadata.deletion_timestamp,
                )
            )
        return out

    def cordon(self, node: str) -> None:
        """``kubectl cordon``."""
        self._core.patch_node(node, {"spec": {"unschedulable": True}})

    def evict(self, namespace: str, pod: str) -> bool:
        """``kubectl drain``'s eviction; a 429 means a PodDisruptionBudget says not yet."""
        from kubernetes.client.exceptions import ApiException

        body = self._client.V1Eviction(metadata=self._client.V1ObjectMeta(name=pod, namespace=namespace))
        try:
            self._core.create_namespaced_pod_eviction(pod, namespace, body)
        except ApiException as exc:
            if exc.status == 429:
                return False
            if exc.status == 404:
                return True  # already gone
            raise StorageError(f"evicting {namespace}/{pod} failed: HTTP {exc.status}") from None
        return True

    def force_delete(self, namespace: str, pod: str) -> None:
        """Delete with grace period 0 (the node's kubelet is gone and will never confirm)."""
        self._core.delete_namespaced_pod(pod, namespace, grace_period_seconds=0)
