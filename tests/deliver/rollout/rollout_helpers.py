"""Helpers for the rollout tests: a running demo stack with payment traffic, and a fake platform."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from finpilot.audit import Entry, Ledger, open_ledger
from finpilot.core import Settings
from finpilot.deliver._rollout import ControllerPlatform, RolloutStore
from finpilot.heal import ArmSpec, Controller, LocalRuntime, demo_payments_token, demo_runtime, mint_demo_payments_token

RATE = 50.0
"""Requests a second of the acceptance traffic (open loop, each with its own Idempotency-Key)."""


@dataclass
class Stack:
    """A running demo runtime (payments, 2 replicas behind a router) with its ledger and store."""

    controller: Controller
    ledger: Ledger
    store: RolloutStore
    data_dir: Path
    address: tuple[str, int]

    @property
    def platform(self) -> ControllerPlatform:
        """The rollout's view of the runtime."""
        return ControllerPlatform(self.controller)

    @property
    def token_file(self) -> Path:
        """The payments API token, by reference."""
        return Path(str(demo_payments_token(self.data_dir).file))

    @property
    def payments_db(self) -> Path:
        """The payments database every replica writes to."""
        return self.data_dir / "payments" / "payments.db"


@contextlib.contextmanager
def demo_stack(tmp: Path) -> Iterator[Stack]:
    """Start the demo runtime in ``tmp`` and wait until its 2 payments replicas serve."""
    data_dir = tmp / "data"
    ledger = open_ledger(Settings(data_dir=data_dir))
    mint_demo_payments_token(data_dir)
    local = LocalRuntime(demo_runtime(data_dir), data_dir, ledger)
    try:
        with local:
            controller = local.controller
            wait_for(lambda: controller.status()["services"]["payments"]["ready"] >= 2, 90)
            host, port = controller.status()["services"]["payments"]["router"]
            yield Stack(controller, ledger, RolloutStore(data_dir / "rollouts.db"), data_dir, (str(host), int(port)))
    finally:
        ledger.close()


def wait_for(check: Callable[[], Any], timeout: float, step: float = 0.05) -> Any:
    """Poll ``check`` until it returns something truthy; fail with the last value after ``timeout``."""
    deadline = time.monotonic() + timeout
    value = check()
    while not value:
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout} s (last: {value!r})")
        time.sleep(step)
        value = check()
    return value


def entries(ledger: Ledger, kind: str | None = None) -> list[dict[str, Any]]:
    """Every audit entry (oldest first), optionally of one kind."""
    found = [e.fields for e in reversed(ledger.tail(10_000))] if ledger.size else []
    return [f for f in found if kind is None or f["kind"] == kind]


class AuditList:
    """An audit sink that keeps the entries (for engine tests without a ledger)."""

    def __init__(self) -> None:
        self.entries: list[Entry] = []

    def __call__(self, entry: Entry) -> None:
        """Keep one entry."""
        self.entries.append(entry)

    def actions(self, kind: str = "deliver.rollout") -> list[str]:
        """The actions of the entries of ``kind``, in order."""
        return [e.action for e in self.entries if e.kind == kind]


@dataclass
class FakePlatform:
    """An in-memory runtime: arms become ready when the test says so; samples are what the test adds."""

    env: dict[str, str] = field(default_factory=lambda: {"A": "1"})
    replicas: int = 2
    arms: dict[str, ArmSpec] = field(default_factory=dict)
    shares: dict[str, int] = field(default_factory=dict)
    rows: dict[str, list[tuple[float, float, bool]]] = field(default_factory=dict)
    ready: bool = True
    stable_revisions: list[ArmSpec] = field(default_factory=list)
    calls: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def set_arms(self, service: str, arms: Mapping[str, ArmSpec], *, stable: ArmSpec | None = None) -> dict[str, Any]:
        """Record the arms."""
        self.arms = dict(arms)
        if stable is not None:
            self.stable_revisions.append(stable)
            self.replicas = stable.replicas
            self.env = {**self.env, **stable.env}
        self.calls.append(f"arms {sorted(arms)}" + (f" stable={stable.replicas}" if stable else ""))
        return {}

    def set_shares(self, service: str, shares: Mapping[str, int]) -> dict[str, Any]:
        """Record the shares."""
        self.shares = dict(shares)
        self.calls.append(f"shares {dict(sorted(shares.items()))}")
        return {}

    def arm_samples(self, service: str, since: float = 0.0) -> dict[str, list[tuple[float, float, bool]]]:
        """The rows added, since ``since``."""
        return {g: [r for r in rows if r[0] >= since] for g, rows in self.rows.items()}

    def arm_status(self, service: str) -> dict[str, dict[str, int]]:
        """Every arm ready (or none, per ``ready``)."""
        out = {"stable": {"replicas": self.replicas, "running": self.replicas, "ready": self.replicas}}
        for name, arm in self.arms.items():
            n = arm.replicas if self.ready else 0
            out[name] = {"replicas": arm.replicas, "running": n, "ready": n}
        return out

    def stable_spec(self, service: str) -> tuple[dict[str, str], int]:
        """The stable env and replicas."""
        return dict(self.env), self.replicas

    def add(
        self, group: str, start: float, end: float, rate: float, error_every: int = 0, latency: float = 10.0
    ) -> None:
        """Requests of one group at ``rate`` per second over [start, end); every ``error_every``-th an error."""
        n = int((end - start) * rate)
        rows = self.rows.setdefault(group, [])
        for i in range(n):
            t = start + i / rate
            rows.append((t, latency + (i % 7), bool(error_every) and i % error_every == 0))
        rows.sort()


class FakeClock:
    """A clock the test moves."""

    def __init__(self, now: float = 1_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        """The time."""
        return self.now
