"""The local runtime as one object: controller, node agents, routers and the controller API.

``finpilot runtime up`` is a thin loop around :class:`LocalRuntime`; tests use the
:class:`~finpilot.heal._runtime._controller.Controller` directly.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from types import TracebackType

from finpilot.audit import Ledger
from finpilot.core import (
    NodeSpec,
    PoolSpec,
    ProbeSpec,
    ProbesSpec,
    RestartSpec,
    RouterSpec,
    RuntimeSettings,
    SecretRef,
    ServiceSpec,
)
from finpilot.heal._api import ControllerApi
from finpilot.heal._runtime._controller import Controller

DEMO_TOKEN_FILE = "payments-token"  # nosec B105  # noqa: S105 - a file name, not a secret
"""In the runtime's state directory: the demo payments service's bootstrap API token (chmod 600)."""


def demo_payments_token(data_dir: Path) -> SecretRef:
    """Where the demo's payments API token lives, by reference (made by :func:`mint_demo_payments_token`)."""
    return SecretRef(file=state_dir_for(data_dir) / DEMO_TOKEN_FILE)


def mint_demo_payments_token(data_dir: Path) -> SecretRef:
    """A fresh ``admin`` token for the demo's payments service, written chmod 600; its reference.

    Called by whoever starts the demo runtime, before its replicas start (they read it through
    their ``PAYMENTS_BOOTSTRAP_TOKEN`` secret) and before any client needs it. A new one each
    start, so a token copied from an earlier run stops working.
    """
    ref = demo_payments_token(data_dir)
    path = Path(str(ref.file))
    path.parent.mkdir(parents=True, exist_ok=True)
    staged = path.with_name(f".{path.name}.{secrets.token_hex(4)}")
    fd = os.open(staged, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as out:
        out.write(secrets.token_urlsafe(32) + "\n")
    staged.replace(path)
    return ref


def demo_runtime(data_dir: Path) -> RuntimeSettings:
    """The built-in demo: the reference payments service, 2 replicas on 2 private nodes behind a router.

    Its replicas take their API token from :func:`demo_payments_token`'s file: mint it first
    (:func:`mint_demo_payments_token`).
    """
    probe = {"http": "/healthz", "interval_s": 0.25, "timeout_s": 0.5, "failure_threshold": 3}
    return RuntimeSettings(
        nodes=[
            NodeSpec(name="n1", pool="private", labels={"zone": "a"}),
            NodeSpec(name="n2", pool="private", labels={"zone": "b"}),
            NodeSpec(name="p1", pool="public"),
        ],
        pools={
            "private": PoolSpec(classifications=["pci", "pii", "public"]),
            "public": PoolSpec(classifications=["public"]),
        },
        services={
            "payments": ServiceSpec(
                module="finpilot_payments",
                args=["--port", "{port}", "--data-dir", str(data_dir / "payments")],
                secrets={"PAYMENTS_BOOTSTRAP_TOKEN": demo_payments_token(data_dir)},
                replicas=2,
                classification="pci",
                probes=ProbesSpec(liveness=ProbeSpec(**probe), readiness=ProbeSpec(**probe)),
                restart=RestartSpec(backoff_initial_s=0, reset_after_s=10),
                router=RouterSpec(port=0),
            )
        },
    )


def state_dir_for(data_dir: Path) -> Path:
    """Where a runtime keeps its logs, API address and token."""
    return data_dir / "runtime"


class LocalRuntime:
    """Start with ``with LocalRuntime(runtime, data_dir, ledger) as rt:``; everything stops on exit."""

    def __init__(self, runtime: RuntimeSettings, data_dir: Path, ledger: Ledger) -> None:
        state = state_dir_for(data_dir)
        self.controller = Controller(runtime, state_dir=state, audit=ledger.append)
        self.api = ControllerApi(self.controller, state, port=runtime.controller_port)

    def __enter__(self) -> LocalRuntime:
        self.controller.start()
        try:
            self.api.start()
        except BaseException:
            self.controller.stop()
            raise
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.api.stop()
        self.controller.stop()
