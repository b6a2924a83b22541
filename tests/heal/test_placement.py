"""Placement rules hold for any nodes, pools and services (hypothesis), and spread replicas."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from finpilot.core import NodeSpec, PoolSpec, RuntimeSettings, ServiceSpec
from finpilot.heal._runtime._placement import place, replica_slots

CLASSES = ["pci", "pii", "public"]


@st.composite
def worlds(draw: st.DrawFn) -> tuple[RuntimeSettings, set[str], dict[str, str]]:
    pools = {
        f"pool{i}": PoolSpec(classifications=draw(st.lists(st.sampled_from(CLASSES), unique=True)))
        for i in range(draw(st.integers(1, 3)))
    }
    nodes = [
        NodeSpec(name=f"n{i}", pool=draw(st.sampled_from(sorted(pools))), labels={"zone": draw(st.sampled_from("ab"))})
        for i in range(draw(st.integers(0, 5)))
    ]
    services = {}
    for i in range(draw(st.integers(0, 4))):
        services[f"s{i}"] = ServiceSpec(
            module="m",
            replicas=draw(st.integers(0, 5)),
            classification=draw(st.sampled_from(CLASSES)),
            node_selector=draw(st.sampled_from([{}, {"zone": "a"}])),
            disruption={"min_available": 0},
        )
    # Build without validation: impossible placements must also be handled (as pending), not only rejected.
    runtime = RuntimeSettings.model_construct(nodes=nodes, pools=pools, services=services)
    usable = set(draw(st.lists(st.sampled_from([n.name for n in nodes] or ["none"]), unique=True)))
    slots = [slot for _, slot in replica_slots(runtime)]
    current = {
        slot: draw(st.sampled_from([n.name for n in nodes] + ["ghost"]))
        for slot in draw(st.lists(st.sampled_from(slots), unique=True) if slots else st.just([]))
    }
    return runtime, usable, current


@given(worlds())
def test_placement_never_breaks_the_pool_rule_nor_invents_nodes(
    world: tuple[RuntimeSettings, set[str], dict[str, str]],
) -> None:
    runtime, usable, current = world
    result = place(runtime, usable=usable, current=current)
    nodes = {node.name: node for node in runtime.nodes}
    slots = [slot for _, slot in replica_slots(runtime)]
    assert sorted([*result.assigned, *result.pending]) == sorted(slots)  # each desired replica exactly once
    assert not set(result.assigned) & set(result.pending)
    for slot, node_name in result.assigned.items():
        service = runtime.services[slot.split("/")[0]]
        assert node_name in usable
        assert node_name in nodes
        pool = runtime.pools[nodes[node_name].pool]
        assert service.classification in pool.classifications
        assert all(nodes[node_name].labels.get(k) == v for k, v in service.node_selector.items())
    for slot, reason in result.pending.items():
        service = runtime.services[slot.split("/")[0]]
        assert service.classification in reason
        assert not any(runtime.admits(nodes[name], service) for name in usable if name in nodes)


@given(worlds())
def test_valid_assignments_are_kept(world: tuple[RuntimeSettings, set[str], dict[str, str]]) -> None:
    runtime, usable, current = world
    result = place(runtime, usable=usable, current=current)
    nodes = {node.name: node for node in runtime.nodes}
    for slot, node_name in current.items():
        if (
            node_name in usable
            and node_name in nodes
            and runtime.admits(nodes[node_name], runtime.services[slot.split("/")[0]])
        ):
            assert result.assigned[slot] == node_name


def _demo() -> RuntimeSettings:
    return RuntimeSettings(
        nodes=[
            NodeSpec(name="n1", pool="private"),
            NodeSpec(name="n2", pool="private"),
            NodeSpec(name="p1", pool="public"),
        ],
        pools={
            "private": PoolSpec(classifications=["pci", "pii", "public"]),
            "public": PoolSpec(classifications=["public"]),
        },
        services={
            "payments": ServiceSpec(module="m", replicas=4, classification="pci"),
            "web": ServiceSpec(module="m", replicas=3),
        },
    )


def test_replicas_spread_and_pci_stays_private() -> None:
    result = place(_demo(), usable={"n1", "n2", "p1"}, current={})
    pay = [result.assigned[f"payments/{i}"] for i in range(4)]
    assert sorted(pay) == ["n1", "n1", "n2", "n2"]
    assert sorted(result.assigned[f"web/{i}"] for i in range(3)) == ["n1", "n2", "p1"]


def test_node_loss_moves_pci_to_the_other_private_node_or_leaves_it_pending() -> None:
    runtime = _demo()
    first = place(runtime, usable={"n1", "n2", "p1"}, current={})
    after = place(runtime, usable={"n2", "p1"}, current=first.assigned)
    assert all(after.assigned[f"payments/{i}"] == "n2" for i in range(4))
    alone = place(runtime, usable={"p1"}, current=after.assigned)
    assert set(alone.pending) == {f"payments/{i}" for i in range(4)}
    assert "unavailable (n1, n2)" in alone.pending["payments/0"]
