"""The local runtime's reconciler: node agents, routers and a level-triggered control loop.

One thread owns all state. Agent messages (heartbeats, readiness, events) and API commands
(drain, chaos, apply) arrive on one queue, and every pass compares desired state (the spec)
with actual state (the agents' last heartbeats) and acts on the difference, so a lost
message or a missed edge is corrected on the next pass rather than lost.

* A node whose heartbeats stop for ``heartbeat_misses x heartbeat_interval_s`` is NotReady; its
  replicas are placed again on ready nodes whose pool admits their classification, or stay
  pending with the reason (audited).
* A drain cordons the node, then moves its replicas one at a time: start the replacement,
  wait until it is ready, then stop the old one, so ready replicas never drop below the
  disruption budget's ``min_available``.
* Every automated action is an audit entry appended before the action (or, for restarts the
  agent makes on its own, as soon as the agent reports it, which it does before acting).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import queue
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from finpilot.audit import Entry, EntryKind
from finpilot.audit.kinds import (
    HEAL_DRAIN,
    HEAL_EVENT,
    HEAL_NODE,
    HEAL_RECOVERED,
    HEAL_RESCHEDULE,
    HEAL_RESTART,
    HEAL_START,
    HEAL_STOP,
)
from finpilot.core import MonotonicClock, RuntimeSettings, StorageError, safe_child
from finpilot.heal._router._balancer import Backend, RouterThread
from finpilot.heal._runtime._placement import choose_node, place, replica_slots, unplaceable_reason

ACTOR = "healer:local"
AuditSink = Callable[[Entry], object]
Listener = Callable[[Entry], None]
_log = logging.getLogger("finpilot.heal")
# The kinds a node agent reports as events (finpilot.heal._agent), by the name it sends.
_AGENT_KINDS = {kind.name: kind for kind in (HEAL_START, HEAL_RESTART)}


def free_port(host: str = "127.0.0.1") -> int:
    """A port that was free a moment ago (the replica binds it with SO_REUSEADDR, and keeps it across restarts)."""
    with socket.socket() as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


@dataclass
class _Node:
    name: str
    proc: subprocess.Popen[str]
    last_hb: float
    status: str = "Starting"
    cordoned: bool = False
    draining: bool = False
    reported: dict[str, Any] = field(default_factory=dict)


@dataclass
class _Instance:
    id: str
    service: str
    slot: str
    node: str
    port: int
    created: float
    ready: bool = False
    ready_at: float | None = None
    state: str = "starting"
    pid: int | None = None
    restarts: int = 0


class Reconciler:
    """The state and the reconcile loop of a local runtime; :class:`~finpilot.heal.Controller` adds the operations.

    ``audit`` receives every entry (``Ledger.append`` in production). ``start()`` returns once
    every agent said hello; ``stop()`` stops replicas, agents and routers. ``clock`` times
    heartbeats, outages and reconcile passes (a fake one lets a test decide when a node is late
    and when a pass runs); bounded waits on real processes keep the real monotonic clock.
    """

    def __init__(
        self,
        runtime: RuntimeSettings,
        *,
        state_dir: Path,
        audit: AuditSink,
        python: str = sys.executable,
        clock: MonotonicClock = time.monotonic,
    ) -> None:
        self.runtime = runtime
        self._clock = clock
        self.state_dir = state_dir
        self._audit = audit
        self._python = python
        self._queue: queue.Queue[tuple[str, Any]] = queue.Queue()
        self._nodes: dict[str, _Node] = {}
        self._instances: dict[str, _Instance] = {}
        self._slots: dict[str, str] = {}  # slot -> owning instance id
        self._surge: dict[str, str] = {}  # slot -> replacement being started by a drain
        self._pending: dict[str, str] = {}  # slot -> reason it is not placed
        self._lost: dict[str, str] = {}  # slot -> node it was lost with (next placement is a reschedule)
        self._routers: dict[str, RouterThread] = {}
        # Release arms: arm service -> the service whose router it joins; per service, the traffic share
        # (percent) of each group of replicas ("stable" = its own; else an arm name). See Controller.set_arms.
        self._routes: dict[str, tuple[str, str]] = {}
        self._shares: dict[str, dict[str, int]] = {}
        self._drain_notes: dict[str, str] = {}
        self._used_ids: set[str] = set()
        self._stop_sent: set[str] = set()
        self._disrupted: dict[str, tuple[float, str, str]] = {}  # slot -> (since, cause kind, cause action)
        self._listeners: list[Listener] = []
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # ------------------------------------------------------------------ lifecycle
    def start(self, timeout: float = 30.0) -> None:
        """Start routers and node agents, then the reconcile loop."""
        (self.state_dir / "logs").mkdir(parents=True, exist_ok=True)
        for name, spec in self.runtime.services.items():
            self._start_router(name)
            del spec
        for node in self.runtime.nodes:
            self._spawn_agent(node.name)
        deadline = time.monotonic() + timeout  # a real wait on real processes: the real clock bounds it
        waiting = set(self._nodes)
        while waiting and time.monotonic() < deadline:
            with contextlib.suppress(queue.Empty):
                kind, payload = self._queue.get(timeout=0.1)
                if kind == "msg" and payload[1].get("op") == "hello":
                    waiting.discard(payload[0])
                    self._nodes[payload[0]].status = "Ready"
                    self._nodes[payload[0]].last_hb = self._clock()
                else:
                    self._queue.put((kind, payload))
        if waiting:
            self.stop()
            raise StorageError(f"node agents did not start: {', '.join(sorted(waiting))}", fix="see logs/agent-*.log")
        self._thread = threading.Thread(target=self._loop, name="heal-controller", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop everything this controller started."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(10)
        for node in self._nodes.values():
            with contextlib.suppress(OSError, ValueError):
                assert node.proc.stdin is not None
                node.proc.stdin.write('{"op":"exit"}\n')
                node.proc.stdin.flush()
        for node in self._nodes.values():
            try:
                node.proc.wait(10)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(node.proc.pid, signal.SIGKILL)
                node.proc.wait()
            for pipe in (node.proc.stdin, node.proc.stdout):
                with contextlib.suppress(OSError, ValueError):
                    assert pipe is not None
                    pipe.close()
        for router in self._routers.values():
            router.stop()

    def _start_router(self, service: str) -> None:
        spec = self.runtime.services[service]
        if spec.router is None or service in self._routers:
            return
        router = RouterThread(
            service, host=spec.router.host, port=spec.router.port, retries=spec.router.retries, initially_ready=False
        )
        router.start()
        self._routers[service] = router

    def _spawn_agent(self, name: str) -> None:
        log = safe_child(self.state_dir / "logs", f"agent-{name}.log", field="runtime.nodes").open("ab")
        proc = subprocess.Popen(
            [
                self._python,
                "-m",
                "finpilot.heal._runtime._agent",
                "--node",
                name,
                "--heartbeat-s",
                str(self.runtime.heartbeat_interval_s),
            ],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=log,
            text=True,
            bufsize=1,
            start_new_session=True,  # its own process group: node-down kills the agent and its replicas at once
            close_fds=True,
        )
        log.close()
        self._nodes[name] = _Node(name=name, proc=proc, last_hb=self._clock())
        assert proc.stdout is not None
        threading.Thread(target=self._read_agent, args=(name, proc.stdout), daemon=True).start()

    def _read_agent(self, name: str, stream: IO[str]) -> None:
        for line in stream:
            try:
                message = json.loads(line)
            except json.JSONDecodeError:
                continue
            if message.get("op") == "hb":
                self._nodes[name].last_hb = self._clock()
            self._queue.put(("msg", (name, message)))
        self._queue.put(("eof", name))

    def _send(self, node: str, order: dict[str, Any]) -> None:
        stdin = self._nodes[node].proc.stdin
        with contextlib.suppress(OSError, ValueError):
            assert stdin is not None
            stdin.write(json.dumps(order, separators=(",", ":")) + "\n")
            stdin.flush()

    # ------------------------------------------------------------------ commands from other threads
    def call(self, fn: Callable[[], Any], timeout: float = 30.0) -> Any:
        """Run ``fn`` on the controller thread (where all state lives) and return its result."""
        if self._thread is None or self._stop.is_set():
            raise StorageError("the runtime is not running", fix="start it first (`finpilot runtime up`)")
        done: Future[Any] = Future()
        self._queue.put(("call", (fn, done)))
        return done.result(timeout)

    def _loop(self) -> None:
        period = self.runtime.reconcile_interval_s
        next_pass = self._clock()
        while not self._stop.is_set():
            try:
                # Clock seconds, waited as real ones (at most one period): a fake clock that stands
                # still runs no pass on its own, and the loop still looks at it again every period.
                kind, payload = self._queue.get(timeout=max(0.0, next_pass - self._clock()))
            except queue.Empty:
                kind, payload = "tick", None
            try:
                if kind == "msg":
                    self._on_message(*payload)
                elif kind == "eof":
                    self._on_agent_exit(payload)
                elif kind == "call":
                    fn, done = payload
                    try:
                        done.set_result(fn())
                    except Exception as exc:
                        done.set_exception(exc)
                if self._clock() >= next_pass:
                    try:
                        self.reconcile()
                    finally:
                        next_pass = self._clock() + period
            except Exception:
                # A bug met in one pass must not end healing: the thread would die while calls kept
                # queueing for it. The next pass starts again from the state as it stands.
                _log.exception("runtime reconcile pass failed; the next pass runs in %.1f s", period)

    def add_listener(self, listener: Listener) -> None:
        """Call ``listener(entry)`` after each entry this runtime records (runbooks, incident views, drills).

        It runs on the controller thread, after the entry is in the audit sink, so it must return
        quickly (hand work to a thread of its own); an exception is logged and never stops healing.
        """
        self._listeners.append(listener)

    def _record(
        self,
        kind: EntryKind[Any],
        action: str,
        subject: str,
        outcome: str,
        evidence: dict[str, Any],
        *,
        actor: str = ACTOR,
    ) -> None:
        entry = kind.entry(actor=actor, action=action, subject=subject, outcome=outcome, evidence=evidence)
        self._audit(entry)
        for listener in self._listeners:
            try:
                listener(entry)
            except Exception:  # a listener's bug must not stop the healer
                _log.exception("runtime listener failed on %s", kind.name)

    def _mark_disrupted(self, slot: str, kind: str, action: str) -> None:
        # The first fault of an outage counts: a crash loop is measured from its first crash.
        self._disrupted.setdefault(slot, (self._clock(), kind, action))

    def _on_message(self, node_name: str, message: dict[str, Any]) -> None:
        op = message.get("op")
        node = self._nodes[node_name]
        if op == "hb":
            node.reported = message.get("instances", {})
            if node.status == "NotReady":
                return  # its replicas were already replaced; reconcile stops the leftovers
            for iid, view in node.reported.items():
                inst = self._instances.get(iid)
                if inst is not None:
                    inst.pid, inst.state, inst.restarts = (
                        view.get("pid"),
                        view.get("state", "?"),
                        view.get("restarts", 0),
                    )
                    if inst.ready != bool(view.get("ready")):
                        self._set_ready(inst, bool(view.get("ready")))
        elif op == "ready":
            inst = self._instances.get(message.get("instance", ""))
            if inst is not None and node.status != "NotReady":
                if message.get("pid"):
                    inst.pid = int(message["pid"])
                self._set_ready(inst, bool(message.get("ready")))
        elif op == "event":
            evidence = dict(message.get("evidence", {}))
            inst = self._instances.get(str(message.get("instance", "")))
            kind = _AGENT_KINDS.get(str(message.get("kind")), HEAL_EVENT)
            if inst is not None and kind is HEAL_RESTART:
                self._mark_disrupted(inst.slot, HEAL_RESTART.name, str(message.get("action", "?")))
            self._record(
                kind,
                str(message.get("action", "?")),
                f"replica:{message.get('instance', '?')}",
                str(message.get("outcome", "?")),
                evidence,
            )

    def _on_agent_exit(self, name: str) -> None:
        # On one machine an agent's exit is certain evidence that its replicas are gone: stop
        # routing to them now. Declaring the node NotReady and moving its replicas still waits
        # for the missed heartbeats, which is the rule a remote node is judged by too.
        node = self._nodes[name]
        if node.status != "Ready" or self._stop.is_set():
            return
        affected = sorted(inst.id for inst in self._instances.values() if inst.node == name and inst.ready)
        self._record(
            HEAL_NODE,
            "stop-routing",
            f"node:{name}",
            "suspect",
            {"reason": "agent exited", "agent_exit": node.proc.poll(), "replicas": affected},
        )
        for inst in self._instances.values():
            if inst.node == name and inst.ready:
                self._set_ready(inst, False)

    def _set_ready(self, inst: _Instance, ready: bool) -> None:
        inst.ready = ready
        if ready:
            inst.ready_at = self._clock()
            cause = self._disrupted.pop(inst.slot, None)
            if cause is not None and self._slots.get(inst.slot) == inst.id:
                since, kind, action = cause
                self._record(
                    HEAL_RECOVERED,
                    "ready",
                    f"replica:{inst.slot}",
                    "ok",
                    {
                        "slot": inst.slot,
                        "instance": inst.id,
                        "node": inst.node,
                        "cause": kind,
                        "cause_action": action,
                        "since_cause_s": round(inst.ready_at - since, 3),
                    },
                )
            elif cause is not None:
                self._disrupted[inst.slot] = cause
        router = self._routers.get(self._routed(inst.service)[0])
        if router is not None:
            router.set_ready(inst.id, ready)

    def _routed(self, service: str) -> tuple[str, str]:
        """(the service whose router serves ``service``'s replicas, the group they form there)."""
        return self._routes.get(service, (service, "stable"))

    def _sync_router(self, service: str) -> None:
        service = self._routed(service)[0]
        router = self._routers.get(service)
        if router is None:
            return
        mine = [inst for inst in self._instances.values() if self._routed(inst.service)[0] == service]
        shares = self._shares.get(service)
        groups: dict[str, int] = {}
        for inst in mine:
            group = self._routed(inst.service)[1]
            groups[group] = groups.get(group, 0) + 1

        def weight(inst: _Instance) -> int:
            if shares is None:
                return 100
            group = self._routed(inst.service)[1]
            # A group's share spread over its replicas: shares hold whatever the group size.
            return shares.get(group, 0) * 100 // max(1, groups[group])

        router.set_backends([Backend(id=i.id, host="127.0.0.1", port=i.port, weight=weight(i)) for i in mine])
        for inst in mine:
            router.set_ready(inst.id, inst.ready)

    # ------------------------------------------------------------------ reconcile
    def _ready_nodes(self) -> list[str]:
        return [name for name, node in self._nodes.items() if node.status == "Ready"]

    def reconcile(self) -> None:
        """One level-triggered pass: node health, placement, starts and stops, drains."""
        self._check_nodes()
        ready = self._ready_nodes()
        schedulable = [name for name in ready if not self._nodes[name].cordoned]
        current = {slot: self._instances[iid].node for slot, iid in self._slots.items() if iid in self._instances}
        plan = place(self.runtime, usable=ready, current=current, schedulable=schedulable)
        pending = dict(plan.pending)
        for slot, node in plan.assigned.items():
            owner = self._instances.get(self._slots.get(slot, ""))
            if owner is None or owner.node != node:
                waiting = self._unready_dependencies(slot.split("/")[0])
                if waiting:
                    pending[slot] = f"waiting for {', '.join(waiting)} to have a ready replica (depends_on)"
                    continue
                self._start_instance(slot, node, reason=self._lost.pop(slot, None))
        for slot, reason in pending.items():
            if self._pending.get(slot) != reason:
                self._pending[slot] = reason
                self._record(HEAL_RESCHEDULE, "hold", f"replica:{slot}", "pending", {"slot": slot, "reason": reason})
        for slot in list(self._pending):
            if slot not in pending:
                del self._pending[slot]
        # Stops first: a replica whose slot left the spec (scaled down, an arm withdrawn) is stopped,
        # never moved off a draining node, and its spec may already be gone.
        self._stop_unwanted()
        self._drive_drains()

    def _unready_dependencies(self, service: str) -> list[str]:
        return [dep for dep in self.runtime.services[service].depends_on if self._ready_count(dep) == 0]

    def _check_nodes(self) -> None:
        limit = self.runtime.heartbeat_interval_s * self.runtime.heartbeat_misses
        now = self._clock()
        for node in self._nodes.values():
            age = now - node.last_hb
            if node.status == "Ready" and age > limit:
                lost = [inst for inst in self._instances.values() if inst.node == node.name]
                self._record(
                    HEAL_NODE,
                    "mark-not-ready",
                    f"node:{node.name}",
                    "NotReady",
                    {
                        "last_heartbeat_age_s": round(age, 3),
                        "heartbeat_period_s": self.runtime.heartbeat_interval_s,
                        "misses": self.runtime.heartbeat_misses,
                        "replicas_lost": sorted(inst.id for inst in lost),
                        "agent_exit": node.proc.poll(),
                    },
                )
                node.status = "NotReady"
                node.reported = {}
                for inst in lost:
                    self._mark_disrupted(inst.slot, HEAL_NODE.name, "mark-not-ready")
                    self._forget(inst)
                    if self._slots.get(inst.slot) == inst.id:
                        del self._slots[inst.slot]
                        self._lost[inst.slot] = node.name
                    if self._surge.get(inst.slot) == inst.id:
                        del self._surge[inst.slot]
            elif node.status == "NotReady" and age <= limit and node.proc.poll() is None:
                # Heartbeats are back (a paused or partitioned agent): schedulable again. What it
                # still runs is no longer wanted and is stopped by the next pass.
                self._record(
                    HEAL_NODE,
                    "mark-ready",
                    f"node:{node.name}",
                    "Ready",
                    {"heartbeat_age_s": round(age, 3), "leftover_replicas": sorted(node.reported)},
                )
                node.status = "Ready"

    def _new_id(self, slot: str, node: str) -> str:
        base = f"{slot}@{node}"
        iid, n = base, 1
        while iid in self._used_ids:
            n += 1
            iid = f"{base}~{n}"
        self._used_ids.add(iid)
        return iid

    def _start_instance(self, slot: str, node: str, *, reason: str | None, surge: bool = False) -> _Instance:
        service, index = slot.split("/")
        spec = self.runtime.services[service]
        inst = _Instance(
            id=self._new_id(slot, node),
            service=service,
            slot=slot,
            node=node,
            # A fixed port suits one replica per machine; 0 (the default) gives each replica its own.
            port=spec.ports.get("http") or free_port(),
            created=self._clock(),
        )
        evidence: dict[str, Any] = {"slot": slot, "node": node, "pool": self._pool(node), "instance": inst.id}
        if reason is not None:
            evidence["from_node"] = reason
            self._record(HEAL_RESCHEDULE, "reschedule", f"replica:{slot}", "ok", evidence)
        elif surge:
            self._record(HEAL_DRAIN, "start-replacement", f"replica:{slot}", "ok", evidence)
        else:
            self._record(HEAL_START, "place", f"replica:{slot}", "ok", evidence)
        self._instances[inst.id] = inst
        if surge:
            self._surge[slot] = inst.id
        else:
            self._slots[slot] = inst.id
        self._sync_router(service)
        log = safe_child(self.state_dir / "logs", f"{inst.id.replace('/', '-')}.log", field="runtime.services")
        self._send(
            node,
            {
                "op": "start",
                "instance": inst.id,
                "service": service,
                "index": int(index),
                "port": inst.port,
                "spec": spec.model_dump(mode="json"),
                "log": str(log),
            },
        )
        return inst

    def _pool(self, node: str) -> str:
        return next(n.pool for n in self.runtime.nodes if n.name == node)

    def _forget(self, inst: _Instance) -> None:
        self._instances.pop(inst.id, None)
        self._sync_router(inst.service)

    def _stop_instance(self, inst: _Instance) -> None:
        # Out of the router first, so no new request reaches a replica that is going away.
        self._forget(inst)
        self._stop_sent.add(inst.id)
        self._send(inst.node, {"op": "stop", "instance": inst.id})

    def _stop_unwanted(self) -> None:
        desired = {slot for _, slot in replica_slots(self.runtime)}
        for slot in [s for s in self._slots if s not in desired]:
            del self._slots[slot]
        for slot in [s for s in self._surge if s not in desired]:
            del self._surge[slot]  # a drain's replacement for a slot that is gone is itself unwanted
        wanted = set(self._slots.values()) | set(self._surge.values())
        for inst in list(self._instances.values()):
            if inst.id not in wanted:
                evidence = {"instance": inst.id, "node": inst.node, "reason": "not in the spec any more"}
                self._record(HEAL_STOP, "scale-down", f"replica:{inst.slot}", "ok", evidence)
                self._stop_instance(inst)
        for node in self._nodes.values():
            if node.status != "Ready":
                continue
            for iid, view in node.reported.items():
                if iid in self._instances or view.get("state") == "stopping":
                    continue
                # Heartbeats repeat until the agent acts (and may predate a stop we sent): record once.
                if iid not in self._stop_sent:
                    self._stop_sent.add(iid)
                    evidence = {"instance": iid, "node": node.name, "reason": "running but not wanted (node was lost)"}
                    self._record(HEAL_STOP, "stop-orphan", f"replica:{iid}", "ok", evidence)
                self._send(node.name, {"op": "stop", "instance": iid})

    # ------------------------------------------------------------------ drain
    def _ready_count(self, service: str, without: str | None = None) -> int:
        return sum(1 for i in self._instances.values() if i.service == service and i.ready and i.id != without)

    def _drive_drains(self) -> None:
        for node in self._nodes.values():
            if not node.draining or node.status != "Ready":
                continue
            mine = sorted(
                (i for i in self._instances.values() if i.node == node.name and self._slots.get(i.slot) == i.id),
                key=lambda i: i.id,
            )
            if not mine:
                node.draining = False
                self._drain_notes[node.name] = "drained"
                self._record(HEAL_DRAIN, "complete", f"node:{node.name}", "ok", {"node": node.name})
                continue
            self._drain_step(node.name, mine[0])

    def _drain_step(self, node: str, old: _Instance) -> None:
        spec = self.runtime.services[old.service]
        surge = self._instances.get(self._surge.get(old.slot, ""))
        if surge is not None:
            if not surge.ready:
                return
            del self._surge[old.slot]
            self._slots[old.slot] = surge.id
            evidence = {
                "slot": old.slot,
                "old": old.id,
                "new": surge.id,
                "ready_without_old": self._ready_count(old.service, without=old.id),
                "min_available": spec.disruption.min_available,
            }
            self._record(HEAL_DRAIN, "stop-old", f"replica:{old.slot}", "ok", evidence)
            self._stop_instance(old)
            return
        schedulable = [n for n in self._ready_nodes() if not self._nodes[n].cordoned]
        per_node: dict[str, int] = {}
        per_service: dict[str, int] = {}
        for inst in self._instances.values():
            per_node[inst.node] = per_node.get(inst.node, 0) + 1
            if inst.service == old.service:
                per_service[inst.node] = per_service.get(inst.node, 0) + 1
        target = choose_node(self.runtime, old.service, schedulable, per_service=per_service, per_node=per_node)
        if target is not None:
            self._start_instance(old.slot, target, reason=None, surge=True)
            return
        # Nowhere to move it: stopping it is allowed only while the budget still holds without it.
        left = self._ready_count(old.service, without=old.id)
        note = unplaceable_reason(self.runtime, old.service, schedulable)
        if left >= spec.disruption.min_available:
            self._record(
                HEAL_DRAIN,
                "stop-unplaceable",
                f"replica:{old.slot}",
                "pending",
                {
                    "slot": old.slot,
                    "old": old.id,
                    "reason": note,
                    "ready_left": left,
                    "min_available": spec.disruption.min_available,
                },
            )
            del self._slots[old.slot]
            self._stop_instance(old)
        elif self._drain_notes.get(node) != f"blocked:{old.slot}":
            self._drain_notes[node] = f"blocked:{old.slot}"
            self._record(
                HEAL_DRAIN,
                "wait",
                f"replica:{old.slot}",
                "blocked",
                {
                    "slot": old.slot,
                    "reason": f"{note}; stopping it would leave {left} ready, below min_available "
                    f"{spec.disruption.min_available}",
                },
            )
