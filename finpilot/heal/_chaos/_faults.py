"""The faults a chaos drill runs, behind one small interface, and how each one is timed from the audit log.

A :class:`Fault` injects itself into a running :class:`~finpilot.heal.Controller` and says, for
an audit entry (its fields: ``kind``, ``action``, ``subject``, ``outcome``, ``evidence``),
whether the entry is the runtime *detecting* the fault and which part of the outage it
*recovers*. A trial has recovered when every awaited part has a recovery entry. Times come
from the entries' timestamps in the ledger: ``chaos.inject`` -> first detection entry -> last
recovery entry. Faults the runtime does not heal (``latency``: the router does not eject a
slow replica) await nothing; they are held for ``hold_s`` and undone, and the drill reports
their effect on clients instead.

New faults plug in by implementing :class:`Fault` and being added to :func:`default_faults`
(or passed to ``run_chaos_drill(registry=...)``). ``db-primary-down`` lives in
:mod:`finpilot.heal._chaos._db`: it needs a stack whose payments run on a PostgreSQL HA pair.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

from finpilot.audit import Ledger, is_system_entry
from finpilot.audit.kinds import HEAL_NODE, HEAL_RECOVERED, HEAL_RESTART
from finpilot.heal._runtime._controller import Controller

EntryFields = Mapping[str, Any]
ACTOR = "healer:drill"
"""The actor of the drill's ``chaos.inject`` entries."""


@dataclass(frozen=True)
class Injected:
    """One injection: what was hit, and the parts of the outage whose recovery the trial waits for."""

    fault: str
    target: str
    awaits: frozenset[str]
    hold_s: float = 0.0
    details: Mapping[str, Any] = field(default_factory=dict)


class DrillStack(Protocol):
    """What a fault may act on: the running runtime, the ledger every entry goes to, the stack's data directory."""

    @property
    def controller(self) -> Controller:
        """The local runtime's controller."""
        ...

    @property
    def ledger(self) -> Ledger:
        """The drill's audit ledger (faults outside the runtime, such as a database healer, append here too)."""
        ...

    @property
    def data_dir(self) -> Path:
        """The stack's data directory (the payments database is under ``payments/``)."""
        ...


class Fault(Protocol):
    """A fault the drill can run (see the module docstring)."""

    name: str
    """Short name, as in ``--faults`` (``kill``, ``node-down`` ...)."""
    trials: int
    """Default number of trials."""
    heals: bool
    """The runtime is expected to detect and recover from it (else it is held and undone)."""
    fresh_stack: bool
    """Each trial needs a stack of its own (the fault leaves the runtime unable to repeat it)."""
    timeout_s: float
    """How long a trial may take to recover before it counts as not recovered."""

    def inject(self, stack: DrillStack, trial: int) -> Injected:
        """Inject the fault, recording a ``chaos.inject`` entry in the ledger before it acts."""
        ...

    def detects(self, entry: EntryFields, injected: Injected) -> bool:
        """Whether ``entry`` is the runtime noticing this fault."""
        ...

    def recovers(self, entry: EntryFields, injected: Injected) -> str | None:
        """The awaited part that ``entry`` shows recovered, if any."""
        ...

    def undo(self, stack: DrillStack, injected: Injected) -> None:
        """Take back what the runtime does not heal by itself (nothing for most faults)."""
        ...


def _slot_of(subject: str) -> str:
    # Subjects are "replica:<slot>" or "replica:<slot>@<node>[~n]".
    return subject.removeprefix("replica:").split("@", 1)[0]


def _recovered_slot(entry: EntryFields, injected: Injected) -> str | None:
    if entry.get("kind") != HEAL_RECOVERED.name:
        return None
    slot = str(entry.get("evidence", {}).get("slot", ""))
    return slot if slot in injected.awaits else None


class _ReplicaSignal:
    """``kill`` (SIGKILL) or ``hang`` (SIGSTOP) one replica; alternates between the service's slots."""

    heals = True
    fresh_stack = False
    timeout_s = 30.0

    def __init__(self, name: str, *, service: str = "payments", slots: int = 2, trials: int = 20) -> None:
        self.name, self.service, self.slots, self.trials = name, service, slots, trials

    def inject(self, stack: DrillStack, trial: int) -> Injected:
        slot = f"{self.service}/{trial % self.slots}"
        result = stack.controller.chaos_signal(slot, self.name, actor=ACTOR)
        return Injected(self.name, slot, frozenset({slot}), details={"instance": result["instance"]})

    def detects(self, entry: EntryFields, injected: Injected) -> bool:
        if entry.get("kind") != HEAL_RESTART.name or _slot_of(str(entry.get("subject", ""))) != injected.target:
            return False
        # A hang is detected by the liveness probe; a crash by the agent seeing the exit.
        return self.name != "hang" or entry.get("action") == "kill-and-replace"

    def recovers(self, entry: EntryFields, injected: Injected) -> str | None:
        return _recovered_slot(entry, injected)

    def undo(self, stack: DrillStack, injected: Injected) -> None:
        del stack, injected


class NodeDown:
    """``node-down``: kill a node agent and its replicas; agents are not restarted, so a fresh stack per trial."""

    name = "node-down"
    heals = True
    fresh_stack = True
    timeout_s = 60.0

    def __init__(self, *, node: str = "n1", trials: int = 5) -> None:
        self.node, self.trials = node, trials

    def inject(self, stack: DrillStack, trial: int) -> Injected:
        del trial
        slots = {
            view["slot"]
            for view in stack.controller.status()["replicas"].values()
            if view["node"] == self.node and view["role"] == "serving"
        }
        result = stack.controller.chaos_node_down(self.node, actor=ACTOR)
        return Injected(self.name, self.node, frozenset(slots), details={"replicas": result["replicas"]})

    def detects(self, entry: EntryFields, injected: Injected) -> bool:
        return entry.get("kind") == HEAL_NODE.name and entry.get("subject") == f"node:{injected.target}"

    def recovers(self, entry: EntryFields, injected: Injected) -> str | None:
        return _recovered_slot(entry, injected)

    def undo(self, stack: DrillStack, injected: Injected) -> None:
        del stack, injected


class Latency:
    """``latency``: delay one replica's responses at the router for ``hold_s``, then remove the delay.

    The runtime does not heal this (the router ejects failing replicas, not slow ones), so no
    detection or recovery is expected; the drill reports the clients' latency and failures.
    """

    name = "latency"
    heals = False
    fresh_stack = False
    timeout_s = 30.0

    def __init__(self, *, ms: float = 200.0, hold_s: float = 2.0, service: str = "payments", trials: int = 5) -> None:
        self.ms, self.hold_s, self.service, self.trials = ms, hold_s, service, trials

    def inject(self, stack: DrillStack, trial: int) -> Injected:
        target = f"{self.service}/{trial % 2}"
        stack.controller.chaos_latency(target, self.ms, actor=ACTOR)
        return Injected(self.name, target, frozenset(), hold_s=self.hold_s, details={"ms": self.ms})

    def detects(self, entry: EntryFields, injected: Injected) -> bool:
        del entry, injected
        return False

    def recovers(self, entry: EntryFields, injected: Injected) -> str | None:
        del entry, injected
        return None

    def undo(self, stack: DrillStack, injected: Injected) -> None:
        stack.controller.chaos_latency(injected.target, 0, actor=ACTOR)


class DiskFull:
    """``disk-full`` (simulated): DiskPressure on a node for ``hold_s``, then cleared.

    The node is cordoned while it lasts and what runs there keeps running, so there is nothing to
    recover: detection is the controller's ``heal.node`` / ``disk-pressure`` entry, and the drill
    checks that clients see no failure.
    """

    name = "disk-full"
    heals = False
    fresh_stack = False
    timeout_s = 30.0

    def __init__(self, *, node: str = "n1", hold_s: float = 1.0, trials: int = 3) -> None:
        self.node, self.hold_s, self.trials = node, hold_s, trials

    def inject(self, stack: DrillStack, trial: int) -> Injected:
        del trial
        stack.controller.chaos_disk_full(self.node, on=True, actor=ACTOR)
        return Injected(self.name, self.node, frozenset(), hold_s=self.hold_s)

    def detects(self, entry: EntryFields, injected: Injected) -> bool:
        return (
            entry.get("kind") == HEAL_NODE.name
            and entry.get("action") == "disk-pressure"
            and entry.get("subject") == f"node:{injected.target}"
        )

    def recovers(self, entry: EntryFields, injected: Injected) -> str | None:
        del entry, injected
        return None

    def undo(self, stack: DrillStack, injected: Injected) -> None:
        stack.controller.chaos_disk_full(injected.target, on=False, actor=ACTOR)


def default_faults() -> dict[str, Fault]:
    """The built-in faults by name, in the order a drill runs them."""
    # Imported here: _drill_db builds on this module's Fault machinery.
    from finpilot.heal._chaos._db import DbPrimaryDown

    return {
        "kill": _ReplicaSignal("kill", trials=20),
        "hang": _ReplicaSignal("hang", trials=5),
        "latency": Latency(),
        "disk-full": DiskFull(),
        "db-primary-down": DbPrimaryDown(trials=10),
        "node-down": NodeDown(),
    }


@dataclass
class TrialTiming:
    """One trial's times from the audit log (seconds after its ``chaos.inject`` entry).

    The database fault also has ``writes_resumed_s`` (the first acknowledged payment sent after
    the kill, from the traffic record) and ``rejoin_s`` (the old primary streaming again as the
    synchronous standby).
    """

    detection_s: float | None
    recovery_s: float | None
    recovered: bool
    writes_resumed_s: float | None = None
    rejoin_s: float | None = None


def ledger_entries(ledger: Ledger, start: int, end: int) -> list[dict[str, Any]]:
    """Entries ``start <= index < end`` as stored, each with its timestamp as epoch seconds under ``_t``."""
    found: list[dict[str, Any]] = []
    for _, data in ledger.store.entries(start, end):
        fields: dict[str, Any] = json.loads(data)
        if not is_system_entry(fields):
            continue  # a drill's verdict rests only on what finpilot itself recorded
        fields["_t"] = datetime.fromisoformat(str(fields["time"])).timestamp()
        found.append(fields)
    return found


def wait_recovered(fault: Fault, injected: Injected, ledger: Ledger, start: int, timeout_s: float) -> bool:
    """Read the ledger from ``start`` on as it grows until every awaited part recovered, or ``timeout_s`` passed.

    The ledger, not a runtime listener: entries from writers outside the runtime (a database
    healer) count as well.
    """
    deadline = time.monotonic() + timeout_s
    pending = set(injected.awaits)
    index = start
    while pending:
        size = ledger.size
        for entry in ledger_entries(ledger, index, size):
            pending.discard(fault.recovers(entry, injected) or "")
        index = size
        if not pending:
            break
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def time_trial(fault: Fault, injected: Injected, entries: Sequence[EntryFields]) -> TrialTiming:
    """Detection and recovery times of one trial from its ledger entries (the first is its ``chaos.inject``)."""
    inject_at = entries[0]["_t"]
    detection: float | None = None
    pending = set(injected.awaits)
    recovery: float | None = None
    for entry in entries[1:]:
        if detection is None and fault.detects(entry, injected):
            detection = entry["_t"] - inject_at
        part = fault.recovers(entry, injected)
        if part in pending:
            pending.discard(part)
            if not pending:
                recovery = entry["_t"] - inject_at
                break
    healed = bool(injected.awaits)
    return TrialTiming(detection, recovery, recovered=healed and recovery is not None)
