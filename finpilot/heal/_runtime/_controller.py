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
import signal
import threading
import time
from typing import Any

from pydantic import ValidationError

from finpilot.audit.kinds import CHAOS_INJECT, HEAL_APPLY, HEAL_DRAIN, HEAL_NODE, HEAL_RESTART
from finpilot.core import ConfigError, InputError, NotFoundError, RuntimeSettings, StorageError, parse_settings
from finpilot.heal._runtime._arms import ReleaseArms
from finpilot.heal._runtime._reconciler import ACTOR, _Instance


class Controller(ReleaseArms):
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

    def scale(self, service: str, replicas: int) -> dict[str, Any]:
        """Apply a copy of the running spec with ``service`` at ``replicas`` (validated first).

        The change is an ordinary :meth:`apply` (audited ``heal.apply``, undone by
        :meth:`rollback`); a count the spec refuses (e.g. below ``disruption.min_available``) is
        an :class:`InputError` and changes nothing.
        """
        runtime = self.runtime
        if service not in runtime.services:
            raise NotFoundError(f"no service named '{service}'", fix=f"services: {', '.join(runtime.services)}")
        data = runtime.model_dump()
        before = data["services"][service]["replicas"]
        data["services"][service]["replicas"] = replicas
        try:
            changed = RuntimeSettings.model_validate(data)
        except ValidationError as exc:
            raise InputError(
                f"scaling {service} to {replicas} makes an invalid spec: {exc.errors()[0]['msg']}",
                field="scale.replicas",
                fix="choose a replica count the spec allows (e.g. not below disruption.min_available)",
            ) from None
        self.apply(changed)
        return {"service": service, "from": before, "to": replicas}

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
