"""A canary on Kubernetes: baseline and canary Deployments beside the stable one, split by HTTPRoute weights.

Rendered through heal's public :func:`~finpilot.heal.render_manifests` (so the arms carry every
control the stable Deployment has: probes, limits, security context, network policy), then the
stable HTTPRoute's one backendRef becomes three weighted ones (Gateway API ``backendRefs[].weight``).
Arms get no HorizontalPodAutoscaler or PodDisruptionBudget (fixed size, short-lived) and no route of
their own. Checked offline against the schemas only: it was not run against a live cluster.
"""

from __future__ import annotations

from typing import Any

from finpilot.core import InputError, RuntimeSettings
from finpilot.deliver._release import check_release
from finpilot.heal import K8sOptions, render_manifests

TRACK_LABEL = "finpilot.io/track"
"""stable, baseline or canary."""
RELEASE_ANNOTATION = "finpilot.io/release"


def render_canary(
    runtime: RuntimeSettings,
    service: str,
    *,
    release: str,
    env: dict[str, str],
    weight: int,
    arm_replicas: int = 1,
    options: K8sOptions | None = None,
) -> list[dict[str, Any]]:
    """The objects of ``service`` plus its baseline and canary arms at ``weight`` percent each, in apply order."""
    check_release(release)
    spec = runtime.services.get(service)
    if spec is None or spec.router is None:
        raise InputError(
            f"no routed service {service!r} in runtime.services", field="service", fix="name a service with a router"
        )
    if not 0 <= weight <= 50:
        raise InputError(f"weight {weight} is out of range", field="weight", fix="use 0..50 (baseline gets as much)")
    arms = {
        f"{service}-baseline": spec.model_copy(update={"replicas": arm_replicas}),
        f"{service}-canary": spec.model_copy(
            update={"replicas": arm_replicas, "env": {**spec.env, "PAYMENTS_VERSION": release, **env}}
        ),
    }
    clash = [name for name in arms if name in runtime.services]
    if clash:
        raise InputError(f"service {clash[0]!r} already exists", field="service", fix="rename it or the service")
    whole = runtime.model_copy(update={"services": {service: spec, **arms}})
    groups = render_manifests(whole, options)
    objects = list(groups[service])
    route = next(o for o in objects if o["kind"] == "HTTPRoute")
    port = route["spec"]["rules"][0]["backendRefs"][0]["port"]
    route["spec"]["rules"][0]["backendRefs"] = [
        {"group": "", "kind": "Service", "name": name, "port": port, "weight": share}
        for name, share in ((service, 100 - 2 * weight), (f"{service}-baseline", weight), (f"{service}-canary", weight))
    ]
    for name, track in ((f"{service}-baseline", "baseline"), (f"{service}-canary", "canary")):
        for obj in groups[name]:
            if obj["kind"] in ("HorizontalPodAutoscaler", "PodDisruptionBudget", "HTTPRoute"):
                continue
            obj["metadata"]["labels"][TRACK_LABEL] = track
            if track == "canary":  # an annotation: a release id may hold '@' or '+', which no label value may
                obj["metadata"].setdefault("annotations", {})[RELEASE_ANNOTATION] = release
            if obj["kind"] == "Deployment":
                obj["spec"]["template"]["metadata"]["labels"][TRACK_LABEL] = track
            objects.insert(len(objects) - 1, obj)  # before the route, so the route never points at nothing
    return objects
