"""The local runtime's controller: the operations people and tests ask of a running reconciler.

Drain, chaos injection, status, spec changes and their rollback. Each runs on the
reconciler's thread (through :meth:`Reconciler.call`), where all state lives, and records its
audit entry before it acts.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import signal
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from finpilot.audit.kinds import CHAOS_INJECT, HEAL_APPLY, HEAL_DRAIN, HEAL_NODE, HEAL_RESTART
from finpilot.core import ConfigError, InputError, NotFoundError, RuntimeSettings, StorageError, parse_settings
from finpilot.heal._router._balancer import RouterThread
from finpilot.heal._runtime._reconciler import ACTOR, Reconciler, _Instance


class Controller(Reconciler):
    """Runs a :class:`RuntimeSettings` on this machine (see :mod:`finpilot.heal._runtime._reconciler`) and operates it.

    ``audit`` receives every entry (``Ledger.append`` in production). ``start()`` returns once
    every agent said hello; ``stop()`` stops replicas, agents and routers.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # node -> whether the disk-pressure taint cordoned it (so clearing it uncordons only what it cordoned)
        self._disk_pressure: dict[str, bool] = {}
        # The specs replaced by apply, newest last: what rollback goes back to (lost with the process).
        self._history: list[RuntimeSettings] = []

    # ------------------------------------------------------------------ drain
    def drain(self, node: str, *, actor: str = ACTOR) -> dict[str, Any]:
        """Cordon ``node`` and move its replicas off, honouring disruption budgets (runs on the controller thread)."""

        def go() -> dict[str, Any]:
            found = self._nodes.get(node)
            if found is None:
                raise NotFoundError(f"no node named '{node}'", fix=f"nodes: {', '.join(sorted(self._nodes))}")
            self._record(HEAL_DRAIN, "cordon", f"node:{node}", "ok", {"node": node}, actor=actor)
            found.cordoned = found.draining = True
            self._drain_notes[node] = "draining"
            return {"node": node, "state": "draining"}

        return dict(self.call(go))

    # ------------------------------------------------------------------ chaos
    def _owner(self, target: str) -> _Instance:
        service, _, index = target.partition("/")
        if service not in self.runtime.services:
            raise NotFoundError(f"no service named '{service}'", fix=f"services: {', '.join(self.runtime.services)}")
        slot = f"{service}/{index or 0}"
        inst = self._instances.get(self._slots.get(slot, ""))
        if inst is None or inst.pid is None:
            raise NotFoundError(f"replica {slot} is not running now", fix="see `finpilot runtime status`")
        return inst

    def chaos_signal(self, target: str, fault: str, *, actor: str = ACTOR) -> dict[str, Any]:
        """``kill`` (SIGKILL) or ``hang`` (SIGSTOP) the replica ``SERVICE[/N]``; audited before it is done."""
        sig = {"kill": signal.SIGKILL, "hang": signal.SIGSTOP}[fault]

        def go() -> dict[str, Any]:
            inst = self._owner(target)
            evidence = {"fault": fault, "instance": inst.id, "node": inst.node, "pid": inst.pid, "signal": sig.name}
            self._record(CHAOS_INJECT, fault, f"replica:{inst.slot}", "injected", evidence, actor=actor)
            assert inst.pid is not None
            os.kill(inst.pid, sig)
            return {**evidence, "t": time.time()}

        return dict(self.call(go))

    def chaos_latency(self, target: str, ms: float, *, actor: str = ACTOR) -> dict[str, Any]:
        """Delay responses of one replica (``SERVICE/N``) or every replica of a service, via its router."""

        def go() -> dict[str, Any]:
            service, _, index = target.partition("/")
            router = self._routers.get(service)
            if router is None:
                raise InputError(f"service '{service}' has no router", fix="add router: {port: 0} to its spec")
            ids = (
                [self._owner(target).id] if index else [i.id for i in self._instances.values() if i.service == service]
            )
            evidence = {"instances": ids, "ms": ms}
            self._record(CHAOS_INJECT, "latency", f"service:{service}", "injected", evidence, actor=actor)
            for iid in ids:
                router.set_delay(iid, ms)
            return {"instances": ids, "ms": ms}

        return dict(self.call(go))

    def chaos_node_down(self, node: str, *, actor: str = ACTOR) -> dict[str, Any]:
        """Kill a node's agent and everything it runs (its process group), as a node failure would."""

        def go() -> dict[str, Any]:
            found = self._nodes.get(node)
            if found is None:
                raise NotFoundError(f"no node named '{node}'", fix=f"nodes: {', '.join(sorted(self._nodes))}")
            running = sorted(i.id for i in self._instances.values() if i.node == node)
            evidence = {"fault": "node-down", "node": node, "agent_pid": found.proc.pid, "replicas": running}
            self._record(CHAOS_INJECT, "node-down", f"node:{node}", "injected", evidence, actor=actor)
            with contextlib.suppress(ProcessLookupError):
                os.killpg(found.proc.pid, signal.SIGKILL)
            return {**evidence, "t": time.time()}

        return dict(self.call(go))

    def node_up(self, node: str, *, actor: str = ACTOR) -> dict[str, Any]:
        """Start a fresh agent for a NotReady node whose agent is gone (after ``chaos node-down``).

        The node is Ready again once its heartbeats arrive, and schedulable; replicas already
        moved elsewhere stay where they run. Audited as ``heal.node`` / ``restart-agent`` first.
        """

        def go() -> dict[str, Any]:
            found = self._nodes.get(node)
            if found is None:
                raise NotFoundError(f"no node named '{node}'", fix=f"nodes: {', '.join(sorted(self._nodes))}")
            # Only a node already judged NotReady: its replicas were rescheduled, so a new agent
            # starts empty and nothing runs twice.
            if found.proc.poll() is None or found.status != "NotReady":
                raise InputError(
                    f"node {node} still has its agent (status {found.status})",
                    field="node",
                    fix="only a node whose agent died and that is NotReady can be brought back",
                )
            evidence = {"node": node, "old_agent_pid": found.proc.pid, "old_agent_exit": found.proc.returncode}
            self._record(HEAL_NODE, "restart-agent", f"node:{node}", "ok", evidence, actor=actor)
            for pipe in (found.proc.stdin, found.proc.stdout):
                with contextlib.suppress(OSError, ValueError):
                    assert pipe is not None
                    pipe.close()
            self._spawn_agent(node)
            # NotReady, with the old heartbeat's age, until the new agent's own heartbeats arrive (then mark-ready).
            self._nodes[node].status = "NotReady"
            self._nodes[node].last_hb = found.last_hb
            self._nodes[node].cordoned = found.cordoned
            return {"node": node, "agent_pid": self._nodes[node].proc.pid, "t": time.time()}

        return dict(self.call(go))

    def chaos_disk_full(self, node: str, *, on: bool = True, actor: str = ACTOR) -> dict[str, Any]:
        """Simulate a full disk on ``node`` (or clear it): a DiskPressure condition, like a NoSchedule taint.

        Nothing new is placed on the node while it lasts; what runs there keeps running. Audited as
        ``chaos.inject`` (``disk-full`` / ``disk-full-clear``) and ``heal.node`` (``disk-pressure``).
        """

        def go() -> dict[str, Any]:
            found = self._nodes.get(node)
            if found is None:
                raise NotFoundError(f"no node named '{node}'", fix=f"nodes: {', '.join(sorted(self._nodes))}")
            if on == (node in self._disk_pressure):
                return {"node": node, "disk_pressure": on, "changed": False}
            fault = "disk-full" if on else "disk-full-clear"
            self._record(CHAOS_INJECT, fault, f"node:{node}", "injected", {"fault": fault, "node": node}, actor=actor)
            evidence = {"node": node, "condition": "DiskPressure", "simulated": True, "schedulable": not on}
            if on:
                self._record(HEAL_NODE, "disk-pressure", f"node:{node}", "DiskPressure", evidence)
                self._disk_pressure[node] = not found.cordoned
                found.cordoned = True
            else:
                self._record(HEAL_NODE, "disk-pressure-cleared", f"node:{node}", "Ready", evidence)
                # A drain's cordon outlives the disk pressure: only undo the cordon the pressure made.
                if self._disk_pressure.pop(node) and not found.draining and node not in self._drain_notes:
                    found.cordoned = False
            return {"node": node, "disk_pressure": on, "changed": True, "t": time.time()}

        return dict(self.call(go))

    # ------------------------------------------------------------------ operations
    def restart(self, target: str, *, actor: str = ACTOR, grace_s: float = 5.0) -> dict[str, Any]:
        """Restart the running replica ``SERVICE[/N]``: signal it to exit, and its node agent starts it again.

        ``always`` services get SIGTERM (a clean exit is restarted too) and SIGKILL after ``grace_s``
        if they ignore it; ``on-failure`` services get SIGKILL (a clean exit would not be restarted);
        ``never`` services are refused. Audited as ``heal.restart`` / ``terminate`` before the signal.
        """

        def go() -> dict[str, Any]:
            inst = self._owner(target)
            policy = self.runtime.services[inst.service].restart.policy
            if policy == "never":
                raise InputError(
                    f"{inst.service} has restart policy 'never': a restarted replica would stay down",
                    field="restart.policy",
                    fix="use restart policy 'always' or 'on-failure' for services a runbook restarts",
                )
            assert inst.pid is not None
            try:
                os.kill(inst.pid, 0)
            except ProcessLookupError:
                raise NotFoundError(
                    f"replica {inst.slot} is restarting already", fix="try again when it is up"
                ) from None
            sig = signal.SIGTERM if policy == "always" else signal.SIGKILL
            evidence = {"slot": inst.slot, "instance": inst.id, "node": inst.node, "pid": inst.pid, "signal": sig.name}
            self._record(HEAL_RESTART, "terminate", f"replica:{inst.id}", "requested", evidence, actor=actor)
            os.kill(inst.pid, sig)
            if sig == signal.SIGTERM:
                timer = threading.Timer(grace_s, self._kill_if_still, args=(inst.id, inst.pid, actor))
                timer.daemon = True
                timer.start()
            return {**evidence, "t": time.time()}

        return dict(self.call(go))

    def _kill_if_still(self, instance: str, pid: int, actor: str) -> None:
        def go() -> None:
            inst = self._instances.get(instance)
            if inst is None or inst.pid != pid:
                return
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                return
            evidence = {
                "slot": inst.slot,
                "instance": inst.id,
                "pid": pid,
                "signal": "SIGKILL",
                "reason": "ignored SIGTERM",
            }
            self._record(HEAL_RESTART, "kill", f"replica:{inst.id}", "requested", evidence, actor=actor)
            os.kill(pid, signal.SIGKILL)

        with contextlib.suppress(StorageError, ProcessLookupError, TimeoutError):
            self.call(go)

    # ------------------------------------------------------------------ status and spec changes
    def status(self) -> dict[str, Any]:
        """Nodes, services, replicas and routers as plain JSON."""

        def go() -> dict[str, Any]:
            now = self._clock()  # heartbeat times are on the reconciler's clock
            services = {}
            for name, spec in self.runtime.services.items():
                router = self._routers.get(name)
                services[name] = {
                    "replicas": spec.replicas,
                    "ready": self._ready_count(name),
                    "classification": spec.classification,
                    "router": list(router.address) if router is not None and router.address else None,
                    "pending": {s: r for s, r in self._pending.items() if s.startswith(f"{name}/")},
                }
            return {
                "nodes": {
                    n.name: {
                        "status": n.status,
                        "pool": self._pool(n.name),
                        "cordoned": n.cordoned,
                        "drain": self._drain_notes.get(n.name),
                        "heartbeat_age_s": round(now - n.last_hb, 3),
                        "agent_pid": n.proc.pid,
                        "conditions": ["DiskPressure"] if n.name in self._disk_pressure else [],
                    }
                    for n in self._nodes.values()
                },
                "services": services,
                "replicas": {
                    i.id: {
                        "service": i.service,
                        "slot": i.slot,
                        "node": i.node,
                        "port": i.port,
                        "pid": i.pid,
                        "state": i.state,
                        "ready": i.ready,
                        "restarts": i.restarts,
                        "role": "replacement" if self._surge.get(i.slot) == i.id else "serving",
                    }
                    for i in sorted(self._instances.values(), key=lambda i: i.id)
                },
            }

        return dict(self.call(go))

    def apply_config(self, text: str, *, source: str = "finpilot.yaml") -> dict[str, Any]:
        """Validate a whole ``finpilot.yaml`` text and apply its ``runtime`` section; invalid text changes nothing."""
        # Parsing happens before anything is touched: a ConfigError leaves the runtime as it was.
        return self.apply(parse_settings(text, source=source).runtime)

    def apply(self, runtime: RuntimeSettings) -> dict[str, Any]:
        """Switch to a new, already validated spec (the one replaced is kept for :meth:`rollback`).

        Node changes need a restart and are refused untouched.
        """

        def go() -> dict[str, Any]:
            if [n.model_dump() for n in runtime.nodes] != [n.model_dump() for n in self.runtime.nodes]:
                raise ConfigError(
                    "the node list cannot change while the runtime runs",
                    field="runtime.nodes",
                    fix="restart `finpilot runtime up` to change nodes",
                )
            self._record(
                HEAL_APPLY,
                "apply-spec",
                "runtime",
                "ok",
                {"services": {name: spec.replicas for name, spec in runtime.services.items()}},
            )
            self._history = [*self._history, self.runtime][-HISTORY:]
            self.runtime = runtime
            for name in runtime.services:
                self._start_router(name)
            return {"applied": True}

        return dict(self.call(go))

    def rollback(self, *, actor: str = ACTOR, service: str | None = None) -> dict[str, Any]:
        """Re-apply the spec the last :meth:`apply` replaced (audited ``heal.apply`` / ``rollback``).

        Each rollback goes one step further back; a rollback is not itself remembered. With
        ``service``, the rollback is refused unless the last change touched that service, so a
        runbook about one service never undoes someone's change to another. Refused, with
        nothing changed, when no apply happened since the runtime started.
        """

        def go() -> dict[str, Any]:
            if not self._history:
                raise NotFoundError(
                    "there is no previous runtime spec to roll back to",
                    fix="rollback undoes a `finpilot runtime apply` (or a runbook's scale) made since `runtime up` "
                    "started; apply the spec you want instead",
                )
            previous, current = self._history[-1], self.runtime
            changed = _services_changed(current, previous)
            if service is not None and service not in changed:
                raise InputError(
                    f"the last spec change did not touch '{service}' (it changed: {', '.join(changed) or 'nothing'})",
                    field="rollback",
                    fix="roll back the whole spec with `finpilot runtime rollback`, or name a service it changed",
                )
            evidence = {
                "from": spec_digest(current),
                "to": spec_digest(previous),
                "services_changed": changed,
                "services": {name: spec.replicas for name, spec in previous.services.items()},
                "history_left": len(self._history) - 1,
            }
            self._record(HEAL_APPLY, "rollback", "runtime", "ok", evidence, actor=actor)
            self._history = self._history[:-1]
            self.runtime = previous
            for name in previous.services:
                self._start_router(name)
            return {"rolled_back": True, **evidence}

        return dict(self.call(go))

    # ------------------------------------------------------------------ release arms (progressive delivery)
    def set_arms(
        self,
        service: str,
        arms: Mapping[str, ArmSpec],
        *,
        stable: ArmSpec | None = None,
    ) -> dict[str, Any]:
        """Declare the release arms of ``service``: replica groups beside its own, behind its router.

        Each arm ``NAME`` runs as service ``SERVICE-NAME``: a copy of the service's spec with
        ``env`` merged over its env and its own replica count, no router of its own; its replicas
        join the service's router as group ``NAME`` (weight 0 until :meth:`set_shares` gives the
        group a share). Arms left out are stopped. ``stable`` revises the service itself (env
        merged, replica count), which is how a promotion replaces the stable replicas. The
        caller (the delivery capability) audits the rollout action that asks for this.
        """

        for arm in arms:
            if not _ARM.match(arm) or len(f"{service}-{arm}") > 63:
                raise InputError(
                    f"arm name {arm!r} is not a short DNS label",
                    field=f"arms.{arm}",
                    fix="use lower-case letters and digits, starting with a letter (e.g. canary)",
                )

        def go() -> dict[str, Any]:
            base = self.runtime.services.get(service)
            if base is None or self._routed(service)[0] != service:
                known = ", ".join(self.runtime.services)
                raise NotFoundError(f"no service named '{service}'", fix=f"services: {known}")
            if base.router is None:
                raise InputError(
                    f"service '{service}' has no router, so it cannot split traffic",
                    field=f"runtime.services.{service}.router",
                    fix="add router: {port: 0} to its spec",
                )
            services = {n: s for n, s in self.runtime.services.items() if self._routes.get(n, ("",))[0] != service}
            if stable is not None:
                base = base.model_copy(update={"env": {**base.env, **stable.env}, "replicas": stable.replicas})
                services[service] = base
            routes = {n: r for n, r in self._routes.items() if r[0] != service}
            for arm, spec in arms.items():
                name = f"{service}-{arm}"
                if name in services:
                    raise InputError(f"an arm named '{arm}' clashes with service '{name}'", field="arm")
                services[name] = base.model_copy(
                    update={
                        "env": {**base.env, **spec.env},
                        "replicas": spec.replicas,
                        "router": None,
                        "disruption": base.disruption.model_copy(update={"min_available": 0}),
                    }
                )
                routes[name] = (service, arm)
            # Each arm is a checked spec's copy with checked values: no new cross-field rule can break.
            self.runtime = self.runtime.model_copy(update={"services": services})
            self._routes = routes
            self._sync_router(service)
            return {"service": service, "arms": {a: s.replicas for a, s in arms.items()}}

        return dict(self.call(go))

    def set_shares(self, service: str, shares: Mapping[str, int]) -> dict[str, Any]:
        """Split ``service``'s traffic by group: ``{"stable": 80, "baseline": 10, "canary": 10}`` (percent).

        Groups left out get none; an empty mapping goes back to plain equal weights. Applied to the
        router at once (the next request already sees it).
        """
        for group, share in shares.items():
            if not isinstance(share, int) or share < 0:
                raise InputError(f"share {share!r} of {group!r} is not a whole number >= 0", field=f"shares.{group}")

        def go() -> dict[str, Any]:
            if service not in self._routers:
                raise NotFoundError(f"no routed service named '{service}'", fix="see `finpilot runtime status`")
            if shares:
                self._shares[service] = dict(shares)
            else:
                self._shares.pop(service, None)
            self._sync_router(service)
            return {"service": service, "shares": dict(shares)}

        return dict(self.call(go))

    def arm_samples(self, service: str, since: float = 0.0) -> dict[str, list[tuple[float, float, bool]]]:
        """Per group of ``service`` ("stable" or an arm), its router's samples since unix time ``since``, in order."""

        def go() -> tuple[RouterThread, dict[str, str]]:
            router = self._routers.get(service)
            if router is None:
                raise NotFoundError(f"no routed service named '{service}'", fix="see `finpilot runtime status`")
            return router, {i.id: self._routed(i.service)[1] for i in self._instances.values()}

        router, groups = self.call(go)
        out: dict[str, list[tuple[float, float, bool]]] = {}
        for backend, rows in router.samples(since).items():
            out.setdefault(groups.get(backend, "gone"), []).extend(rows)
        for rows in out.values():
            rows.sort(key=lambda r: r[0])
        return out

    def arm_status(self, service: str) -> dict[str, dict[str, int]]:
        """Per group of ``service``: wanted replicas, running and ready ones."""

        def go() -> dict[str, dict[str, int]]:
            out: dict[str, dict[str, int]] = {}
            for name, spec in self.runtime.services.items():
                target, group = self._routed(name)
                if target == service:
                    mine = [i for i in self._instances.values() if i.service == name]
                    out[group] = {
                        "replicas": spec.replicas,
                        "running": len(mine),
                        "ready": sum(i.ready for i in mine),
                    }
            return out

        return dict(self.call(go))

    def service_arms(self, service: str) -> dict[str, Any]:
        """``{groups: arm_status, env, replicas}``: the groups and the stable version's env and replica count."""

        def go() -> dict[str, Any]:
            spec = self.runtime.services.get(service)
            if spec is None or self._routed(service)[0] != service:
                raise NotFoundError(f"no service named '{service}'", fix="see `finpilot runtime status`")
            return {"env": dict(spec.env), "replicas": spec.replicas}

        view = dict(self.call(go))
        return {"groups": self.arm_status(service), **view}


@dataclass(frozen=True)
class ArmSpec:
    """One release arm: environment overrides (merged over the service's) and a replica count."""

    env: Mapping[str, str] = field(default_factory=dict)
    replicas: int = 1


_ARM = re.compile(r"^[a-z][a-z0-9]{0,19}$")

HISTORY = 10
"""How many replaced specs the controller keeps for :meth:`Controller.rollback`."""


def spec_digest(runtime: RuntimeSettings) -> str:
    """SHA-256 (hex) of a runtime spec's canonical JSON: names a spec in audit entries without copying it."""
    canonical = json.dumps(runtime.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def _services_changed(a: RuntimeSettings, b: RuntimeSettings) -> list[str]:
    names = sorted(set(a.services) | set(b.services))
    return [
        n
        for n in names
        if (a.services[n].model_dump(mode="json") if n in a.services else None)
        != (b.services[n].model_dump(mode="json") if n in b.services else None)
    ]
