"""What a rollout needs from the runtime it runs on: arms, traffic shares, per-arm samples, readiness.

:class:`Platform` is the interface; the local runtime's :class:`~finpilot.heal.Controller` has the
first four methods itself, and :class:`ControllerPlatform` adds what the rollout reads of its spec.
A fake in the tests implements it in memory.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Protocol

from finpilot.core import NotFoundError
from finpilot.heal import ArmSpec, Controller

Row = tuple[float, float, bool]
ArtifactVerifier = Callable[[str, Mapping[str, str]], None]
"""The supply chain's hook: ``verify(release, env)`` raises (a FinpilotError) when the release's artifact
does not verify; a rollout with ``require_signature`` refuses to start without one."""


class Platform(Protocol):
    """The runtime operations a rollout uses (see the module docstring)."""

    def set_arms(self, service: str, arms: Mapping[str, ArmSpec], *, stable: ArmSpec | None = None) -> dict[str, Any]:
        """Declare the release arms (and optionally revise the stable replicas)."""
        ...

    def set_shares(self, service: str, shares: Mapping[str, int]) -> dict[str, Any]:
        """Split the service's traffic by group, in percent."""
        ...

    def arm_samples(self, service: str, since: float = 0.0) -> dict[str, list[Row]]:
        """Per group, the requests finished since ``since``, in time order."""
        ...

    def arm_status(self, service: str) -> dict[str, dict[str, int]]:
        """Per group: replicas wanted, running, ready."""
        ...

    def stable_spec(self, service: str) -> tuple[dict[str, str], int]:
        """The stable version's env and replica count."""
        ...


class ControllerPlatform:
    """A :class:`Platform` over a local runtime's controller in this process."""

    def __init__(self, controller: Controller) -> None:
        self.controller = controller

    def set_arms(self, service: str, arms: Mapping[str, ArmSpec], *, stable: ArmSpec | None = None) -> dict[str, Any]:
        """See :meth:`finpilot.heal.Controller.set_arms`."""
        return self.controller.set_arms(service, arms, stable=stable)

    def set_shares(self, service: str, shares: Mapping[str, int]) -> dict[str, Any]:
        """See :meth:`finpilot.heal.Controller.set_shares`."""
        return self.controller.set_shares(service, shares)

    def arm_samples(self, service: str, since: float = 0.0) -> dict[str, list[Row]]:
        """See :meth:`finpilot.heal.Controller.arm_samples`."""
        return self.controller.arm_samples(service, since)

    def arm_status(self, service: str) -> dict[str, dict[str, int]]:
        """See :meth:`finpilot.heal.Controller.arm_status`."""
        return self.controller.arm_status(service)

    def stable_spec(self, service: str) -> tuple[dict[str, str], int]:
        """The service's env and replicas in the spec the controller runs."""
        spec = self.controller.runtime.services.get(service)
        if spec is None:
            known = ", ".join(self.controller.runtime.services)
            raise NotFoundError(f"no service named '{service}' in the runtime", fix=f"services: {known}")
        return dict(spec.env), spec.replicas
