"""Placement: which node runs which replica, honouring pools, classifications and node selectors.

A pure function of the spec, the usable nodes and the current assignment, so the reconciler
can call it on every pass (level-triggered) and a property test can check its rules for any
input: a replica only ever lands on a usable node whose pool admits its classification, and
a replica that fits nowhere stays pending with a reason instead of breaking the rule.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field

from finpilot.core import RuntimeSettings


@dataclass(frozen=True)
class Placement:
    """The outcome of one placement pass: ``assigned`` slot -> node, ``pending`` slot -> reason."""

    assigned: dict[str, str] = field(default_factory=dict)
    pending: dict[str, str] = field(default_factory=dict)


def replica_slots(runtime: RuntimeSettings) -> list[tuple[str, str]]:
    """Every desired replica as (service, slot id ``service/N``), in a stable order."""
    return [(name, f"{name}/{i}") for name, spec in runtime.services.items() for i in range(spec.replicas)]


def choose_node(
    runtime: RuntimeSettings,
    service: str,
    usable: Collection[str],
    *,
    per_service: Mapping[str, int],
    per_node: Mapping[str, int],
    exclude: Collection[str] = (),
) -> str | None:
    """The usable node that admits ``service`` with the fewest of its replicas, then the fewest in all."""
    spec = runtime.services[service]
    fits = [
        node.name
        for node in runtime.nodes
        if node.name in usable and node.name not in exclude and runtime.admits(node, spec)
    ]
    if not fits:
        return None
    return min(fits, key=lambda name: (per_service.get(name, 0), per_node.get(name, 0), name))


def unplaceable_reason(runtime: RuntimeSettings, service: str, usable: Collection[str]) -> str:
    """Why ``service`` fits on no node now, in words for the audit entry and status."""
    spec = runtime.services[service]
    admitting = [node.name for node in runtime.nodes if runtime.admits(node, spec)]
    if not admitting:
        return f"no node's pool admits classification '{spec.classification}'"
    down = [name for name in admitting if name not in usable]
    return f"every node that admits classification '{spec.classification}' is unavailable ({', '.join(down)})"


def place(
    runtime: RuntimeSettings,
    *,
    usable: Collection[str],
    current: Mapping[str, str],
    schedulable: Collection[str] | None = None,
) -> Placement:
    """Assign every desired replica slot; keep a current assignment while it is still valid.

    ``usable`` nodes may keep their replicas; new ones go only to ``schedulable`` nodes (default:
    the usable ones), so a cordoned node being drained keeps what it runs but gets nothing new.
    """
    open_nodes = usable if schedulable is None else [name for name in schedulable if name in usable]
    nodes = {node.name: node for node in runtime.nodes}
    result = Placement()
    per_node: Counter[str] = Counter()
    per_service: dict[str, Counter[str]] = {name: Counter() for name in runtime.services}
    moving: list[tuple[str, str]] = []
    for service, slot in replica_slots(runtime):
        node_name = current.get(slot)
        node = nodes.get(node_name) if node_name else None
        if node is not None and node.name in usable and runtime.admits(node, runtime.services[service]):
            result.assigned[slot] = node.name
            per_node[node.name] += 1
            per_service[service][node.name] += 1
        else:
            moving.append((service, slot))
    for service, slot in moving:
        chosen = choose_node(runtime, service, open_nodes, per_service=per_service[service], per_node=per_node)
        if chosen is None:
            result.pending[slot] = unplaceable_reason(runtime, service, open_nodes)
            continue
        result.assigned[slot] = chosen
        per_node[chosen] += 1
        per_service[service][chosen] += 1
    return result
