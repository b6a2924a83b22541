"""Release arms on the local runtime: replica groups beside a service's own, behind its router, with traffic shares.

The delivery capability's rollouts use them (a baseline and a canary arm; see
docs/deliver-rollouts.md); the reconciler routes an arm's replicas through the service's router
as their own group and weighs each group by its share (:meth:`Reconciler._sync_router`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from finpilot.core import InputError, NotFoundError
from finpilot.heal._router._balancer import RouterThread
from finpilot.heal._runtime._reconciler import Reconciler


@dataclass(frozen=True)
class ArmSpec:
    """One release arm: environment overrides (merged over the service's) and a replica count."""

    env: Mapping[str, str] = field(default_factory=dict)
    replicas: int = 1


_ARM = re.compile(r"^[a-z][a-z0-9]{0,19}$")


class ReleaseArms(Reconciler):
    """The release-arm operations of a running reconciler (the :class:`~finpilot.heal.Controller` has them)."""

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
