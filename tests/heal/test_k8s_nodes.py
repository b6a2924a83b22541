"""The dead-node healer's decisions, on plain data (no cluster runs here), and its audit-before-act order."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from finpilot.audit import Ledger, open_ledger
from finpilot.core import FakeClock, InputError, Settings
from finpilot.heal import DeadNodeHealer, DeadNodePolicy
from finpilot.heal._k8s._nodes import NodeState, PodState, plan_dead_nodes

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


def _ago(seconds: float) -> datetime:
    return NOW - timedelta(seconds=seconds)


def _nodes(*states: tuple[str, bool, float]) -> list[NodeState]:
    return [NodeState(name, ready, _ago(age)) for name, ready, age in states]


def test_node_notready_past_the_threshold_is_cordoned_and_drained() -> None:
    nodes = _nodes(("n1", False, 16), ("n2", True, 900), ("n3", True, 900))
    pods = [
        PodState("finpilot", "payments-a", "n1", owner_kind="ReplicaSet"),
        PodState("kube-system", "kube-proxy-x", "n1", owner_kind="DaemonSet"),
        PodState("kube-system", "etcd-n1", "n1", mirror=True),
        PodState("finpilot", "payments-b", "n2", owner_kind="ReplicaSet"),
    ]
    plan = plan_dead_nodes(nodes, pods, NOW)
    assert plan.dead == ["n1"]
    assert plan.held_back is None
    assert [(a.kind, a.node, a.pod) for a in plan.actions] == [("cordon", "n1", None), ("evict", "n1", "payments-a")]


def test_threshold_is_configurable_and_default_15s() -> None:
    nodes = _nodes(("n1", False, 14.9), ("n2", True, 900), ("n3", True, 900))
    assert plan_dead_nodes(nodes, [], NOW).actions == []
    assert [a.kind for a in plan_dead_nodes(nodes, [], NOW, DeadNodePolicy(not_ready_after_s=5)).actions] == ["cordon"]
    with pytest.raises(InputError):
        DeadNodePolicy(not_ready_after_s=-1)


def test_stuck_terminating_pods_are_force_deleted_and_cordon_not_repeated() -> None:
    nodes = [NodeState("n1", False, _ago(60), unschedulable=True), *_nodes(("n2", True, 1), ("n3", True, 1))]
    pods = [
        PodState("finpilot", "old", "n1", deleting_since=_ago(31)),
        PodState("finpilot", "recent", "n1", deleting_since=_ago(5)),
    ]
    plan = plan_dead_nodes(nodes, pods, NOW)
    assert [(a.kind, a.pod) for a in plan.actions] == [("force_delete", "old")]


def test_too_many_dead_nodes_is_held_back_as_a_likely_partition() -> None:
    nodes = _nodes(("n1", False, 60), ("n2", False, 60), ("n3", True, 1))
    plan = plan_dead_nodes(nodes, [PodState("finpilot", "p", "n1")], NOW)
    assert plan.actions == []
    assert plan.dead == ["n1", "n2"]
    assert plan.held_back is not None
    assert "partition" in plan.held_back


@given(
    nodes=st.lists(
        st.tuples(st.booleans(), st.floats(min_value=0, max_value=100), st.booleans()), min_size=1, max_size=8
    ),
    pods=st.lists(
        st.tuples(
            st.integers(0, 7),
            st.sampled_from([None, "ReplicaSet", "DaemonSet", "StatefulSet"]),
            st.booleans(),
            st.none() | st.floats(min_value=0, max_value=100),
        ),
        max_size=20,
    ),
)
def test_plan_invariants(
    nodes: list[tuple[bool, float, bool]], pods: list[tuple[int, str | None, bool, float | None]]
) -> None:
    states = [NodeState(f"n{i}", ready, _ago(age), cordoned) for i, (ready, age, cordoned) in enumerate(nodes)]
    pod_states = [
        PodState("ns", f"p{j}", f"n{node % len(nodes)}", owner, mirror, None if deleting is None else _ago(deleting))
        for j, (node, owner, mirror, deleting) in enumerate(pods)
    ]
    policy = DeadNodePolicy()
    plan = plan_dead_nodes(states, pod_states, NOW, policy)
    dead = {s.name for s in states if not s.ready and (NOW - s.since).total_seconds() >= policy.not_ready_after_s}
    assert set(plan.dead) == dead
    if len(dead) > policy.max_dead_fraction * len(states):
        assert plan.actions == []
        return
    by_pod = {p.name: p for p in pod_states}
    acted = [a.pod for a in plan.actions if a.pod is not None]
    assert len(acted) == len(set(acted))  # at most one action per pod
    for action in plan.actions:
        assert action.node in dead  # never touches a healthy or recently flapping node
        if action.pod is not None:
            pod = by_pod[action.pod]
            assert not pod.mirror
            assert pod.owner_kind != "DaemonSet"
            assert (action.kind == "evict") == (pod.deleting_since is None)
    for pod in pod_states:
        if pod.node in dead and not pod.mirror and pod.owner_kind != "DaemonSet" and pod.deleting_since is None:
            assert pod.name in acted  # every evictable pod on a dead node is evicted


@dataclass
class FakeCluster:
    """An in-memory cluster (the ClusterApi interface); records the ledger size at each call."""

    ledger: Ledger
    node_states: list[NodeState]
    pods: list[PodState]
    refuse: set[str] = field(default_factory=set)
    calls: list[tuple[str, str, int]] = field(default_factory=list)

    def nodes(self) -> list[NodeState]:
        return list(self.node_states)

    def pods_on(self, node: str) -> list[PodState]:
        return [p for p in self.pods if p.node == node]

    def cordon(self, node: str) -> None:
        self.calls.append(("cordon", node, self.ledger.size))

    def evict(self, namespace: str, pod: str) -> bool:
        self.calls.append(("evict", pod, self.ledger.size))
        return pod not in self.refuse

    def force_delete(self, namespace: str, pod: str) -> None:
        self.calls.append(("force_delete", pod, self.ledger.size))


@pytest.fixture
def ledger(tmp_path: Path) -> Iterator[Ledger]:
    """A real ledger in a temporary data directory."""
    with open_ledger(Settings(data_dir=tmp_path / "data")) as opened:
        yield opened


def test_healer_audits_each_action_before_taking_it(ledger: Ledger) -> None:
    clock = FakeClock(NOW)
    nodes = _nodes(("n1", False, 10), ("n2", True, 1), ("n3", True, 1))
    cluster = FakeCluster(ledger, nodes, [PodState("finpilot", "a", "n1"), PodState("finpilot", "b", "n1")], {"b"})
    healer = DeadNodeHealer(cluster, ledger, clock=clock)
    assert healer.tick().actions == []
    assert cluster.calls == []
    clock.advance(5)
    plan = healer.tick()
    assert [a.kind for a in plan.actions] == ["cordon", "evict", "evict"]
    entries = [e.fields for e in reversed(ledger.tail(100))]
    for kind, target, size_at_call in cluster.calls:
        started = [
            i
            for i, e in enumerate(entries)
            if e["action"] == kind and (e["evidence"]["pod"] or e["evidence"]["node"]) == target
        ]
        assert started
        assert started[0] < size_at_call
    assert [e["outcome"] for e in entries] == ["started", "started", "started", "refused"]
    assert entries[-1]["subject"] == "pod:finpilot/b"


def test_healer_records_a_hold_and_does_nothing_on_partition(ledger: Ledger) -> None:
    nodes = _nodes(("n1", False, 60), ("n2", False, 60))
    cluster = FakeCluster(ledger, nodes, [PodState("finpilot", "a", "n1")])
    plan = DeadNodeHealer(cluster, ledger, clock=FakeClock(NOW)).tick()
    assert plan.held_back
    assert cluster.calls == []
    entry = ledger.tail(1)[0].fields
    assert (entry["kind"], entry["action"], entry["outcome"]) == ("k8s.dead_node", "hold", "refused")
