"""The local runtime as a target of the predictive autoscaler (``finpilot.watch.ScaleTarget``)."""

from __future__ import annotations

from finpilot.core import NotFoundError
from finpilot.heal._runtime._controller import Controller


class RuntimeScaleTarget:
    """Scales a service of a running local runtime through :meth:`Controller.scale`."""

    def __init__(self, controller: Controller, name: str = "local") -> None:
        self.controller = controller
        self.name = name

    def describe(self) -> str:
        """``runtime:<name>``."""
        return f"runtime:{self.name}"

    def current(self, service: str) -> int:
        """The replicas the running spec asks for."""
        spec = self.controller.runtime.services.get(service)
        if spec is None:
            raise NotFoundError(f"no service named '{service}' in the runtime", fix="check the autoscaler's service")
        return spec.replicas

    def set_replicas(self, service: str, replicas: int) -> None:
        """Apply the new count (audited ``heal.apply`` by the runtime)."""
        self.controller.scale(service, replicas)
