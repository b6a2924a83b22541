"""Render the ``runtime:`` service spec as Kubernetes objects (the kubernetes backend's manifests).

For each service: a Deployment (probes, resources, a locked-down securityContext, env and
secretKeyRefs, placement as node affinity and tolerations), a Service, a PodDisruptionBudget,
a HorizontalPodAutoscaler (autoscaling/v2), a NetworkPolicy that admits only its dependents
and (for routed services) the gateway, and a Gateway API HTTPRoute. Per namespace: the
Namespace and a default-deny ingress NetworkPolicy.

What the spec does not say, :class:`K8sOptions` does (image, namespace, gateway, pool label).
Objects are plain dicts, ready for YAML or for the API.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from finpilot.core import InputError, ProbeSpec, RuntimeSettings, ServiceSpec, safe_child

Manifest = dict[str, Any]

PART_OF = "finpilot"
NAME_LABEL = "app.kubernetes.io/name"
_FIRST_PORT = 8080
_RUN_AS = 10001


@dataclass(frozen=True)
class K8sOptions:
    """Rendering choices the service spec leaves open."""

    namespace: str = "finpilot"
    image: str = "ghcr.io/finpilot/finpilot:latest"
    python: str = "python"
    pool_label: str = "finpilot.io/pool"
    gateway_name: str = "finpilot-gateway"
    gateway_namespace: str = "finpilot-gateway"
    domain: str = "finpilot.internal"
    hpa_max_factor: int = 3
    hpa_cpu_percent: int = 70


def _labels(name: str, service: ServiceSpec) -> dict[str, str]:
    return {
        NAME_LABEL: name,
        "app.kubernetes.io/part-of": PART_OF,
        "finpilot.io/classification": service.classification,
    }


def _selector(name: str) -> dict[str, str]:
    return {NAME_LABEL: name, "app.kubernetes.io/part-of": PART_OF}


def _meta(name: str, service: ServiceSpec, options: K8sOptions) -> dict[str, Any]:
    return {"name": name, "namespace": options.namespace, "labels": _labels(name, service)}


def container_ports(service: ServiceSpec) -> dict[str, int]:
    """Named container ports: a spec port of 0 ("pick one") becomes 8080, 8081, ... in declaration order."""
    ports: dict[str, int] = {}
    used = {p for p in service.ports.values() if p}
    nxt = _FIRST_PORT
    for name, port in service.ports.items():
        if port:
            ports[name] = port
            continue
        while nxt in used:
            nxt += 1
        ports[name] = nxt
        used.add(nxt)
    return ports


def _port_name(name: str) -> str:
    # An IANA service name: at most 15 characters, lower case.
    return name.lower()[:15]


def _seconds(value: float, minimum: int) -> int:
    # Kubernetes counts probe times in whole seconds; round up so a probe is never stricter than asked.
    return max(minimum, math.ceil(value))


def _probe(probe: ProbeSpec) -> dict[str, Any]:
    handler: dict[str, Any]
    if probe.http is not None:
        handler = {"httpGet": {"path": probe.http, "port": "http"}}
    elif probe.tcp:
        handler = {"tcpSocket": {"port": "http"}}
    else:
        handler = {"exec": {"command": list(probe.exec or [])}}
    return {
        **handler,
        "periodSeconds": _seconds(probe.interval_s, 1),
        "timeoutSeconds": _seconds(probe.timeout_s, 1),
        "failureThreshold": probe.failure_threshold,
        "initialDelaySeconds": _seconds(probe.initial_delay_s, 0),
    }


def _argv(service: ServiceSpec, ports: Mapping[str, int], options: K8sOptions) -> list[str]:
    base = [options.python, "-m", service.module] if service.module is not None else list(service.command or [])
    http = ports.get("http", _FIRST_PORT)
    # {replica} has no stable index on Kubernetes; the pod name is the closest unique identity.
    return [*base, *(a.replace("{port}", str(http)).replace("{replica}", "$(POD_NAME)") for a in service.args)]


def _env(name: str, service: ServiceSpec) -> list[dict[str, Any]]:
    env: list[dict[str, Any]] = [{"name": "POD_NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}}]
    env += [{"name": key, "value": value} for key, value in sorted(service.env.items())]
    # Values stay in a Secret the operator creates; the manifest names only the secret and key.
    env += [
        {"name": key, "valueFrom": {"secretKeyRef": {"name": secret_name(name), "key": ref.name}}}
        for key, ref in sorted(service.secrets.items())
    ]
    return env


def secret_name(service: str) -> str:
    """The Secret a service's ``secrets:`` refer to (one key per reference: the variable's or file's name)."""
    return f"{service}-secrets"


def admitted_pools(runtime: RuntimeSettings, service: ServiceSpec) -> list[str]:
    """Pools whose classifications admit the service (a ``pci`` service: private pools only)."""
    return sorted(p for p, pool in runtime.pools.items() if service.classification in pool.classifications)


def _placement(runtime: RuntimeSettings, service: ServiceSpec, options: K8sOptions) -> dict[str, Any]:
    spec: dict[str, Any] = {}
    if service.node_selector:
        spec["nodeSelector"] = dict(sorted(service.node_selector.items()))
    if runtime.pools:
        pools = admitted_pools(runtime, service)
        term = {"matchExpressions": [{"key": options.pool_label, "operator": "In", "values": pools}]}
        spec["affinity"] = {
            "nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [term]}}
        }
        # Pools are tainted with their name so nothing strays in; tolerate exactly the admitted ones.
        spec["tolerations"] = [
            {"key": options.pool_label, "operator": "Equal", "value": pool, "effect": "NoSchedule"} for pool in pools
        ]
    return spec


def _deployment(name: str, service: ServiceSpec, runtime: RuntimeSettings, options: K8sOptions) -> Manifest:
    ports = container_ports(service)
    container: dict[str, Any] = {
        "name": name,
        "image": options.image,
        "command": _argv(service, ports, options),
        "ports": [{"name": _port_name(p), "containerPort": n, "protocol": "TCP"} for p, n in ports.items()],
        "env": _env(name, service),
        "resources": {
            "requests": {"cpu": service.resources.cpu, "memory": service.resources.memory},
            "limits": {"cpu": service.resources.cpu, "memory": service.resources.memory},
        },
        "securityContext": {
            "runAsNonRoot": True,
            "readOnlyRootFilesystem": True,
            "allowPrivilegeEscalation": False,
            "capabilities": {"drop": ["ALL"]},
        },
        "volumeMounts": [{"name": "tmp", "mountPath": "/tmp"}],  # nosec B108  # noqa: S108 -- inside the pod, on an emptyDir
    }
    for kind in ("liveness", "readiness", "startup"):
        probe: ProbeSpec | None = getattr(service.probes, kind)
        if probe is not None:
            container[f"{kind}Probe"] = _probe(probe)
    pod_spec: dict[str, Any] = {
        "automountServiceAccountToken": False,
        "securityContext": {
            "runAsNonRoot": True,
            "runAsUser": _RUN_AS,
            "runAsGroup": _RUN_AS,
            "fsGroup": _RUN_AS,
            "seccompProfile": {"type": "RuntimeDefault"},
        },
        "containers": [container],
        "volumes": [{"name": "tmp", "emptyDir": {"sizeLimit": "64Mi"}}],
        "topologySpreadConstraints": [
            {
                "maxSkew": 1,
                "topologyKey": "kubernetes.io/hostname",
                "whenUnsatisfiable": "ScheduleAnyway",
                "labelSelector": {"matchLabels": _selector(name)},
            }
        ],
        **_placement(runtime, service, options),
    }
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": _meta(name, service, options),
        "spec": {
            "replicas": service.replicas,
            "selector": {"matchLabels": _selector(name)},
            "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 0, "maxSurge": 1}},
            "template": {"metadata": {"labels": _labels(name, service)}, "spec": pod_spec},
        },
    }


def _service(name: str, service: ServiceSpec, options: K8sOptions) -> Manifest:
    ports = container_ports(service)
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": _meta(name, service, options),
        "spec": {
            "type": "ClusterIP",
            "selector": _selector(name),
            "ports": [
                {"name": _port_name(p), "port": n, "targetPort": _port_name(p), "protocol": "TCP"}
                for p, n in ports.items()
            ],
        },
    }


def _pdb(name: str, service: ServiceSpec, options: K8sOptions) -> Manifest:
    return {
        "apiVersion": "policy/v1",
        "kind": "PodDisruptionBudget",
        "metadata": _meta(name, service, options),
        "spec": {"minAvailable": service.disruption.min_available, "selector": {"matchLabels": _selector(name)}},
    }


def _hpa(name: str, service: ServiceSpec, options: K8sOptions) -> Manifest:
    low = max(1, service.replicas)
    return {
        "apiVersion": "autoscaling/v2",
        "kind": "HorizontalPodAutoscaler",
        "metadata": _meta(name, service, options),
        "spec": {
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": name},
            "minReplicas": low,
            "maxReplicas": max(low, low * options.hpa_max_factor),
            "metrics": [
                {
                    "type": "Resource",
                    "resource": {
                        "name": "cpu",
                        "target": {"type": "Utilization", "averageUtilization": options.hpa_cpu_percent},
                    },
                }
            ],
        },
    }


def _network_policy(name: str, service: ServiceSpec, runtime: RuntimeSettings, options: K8sOptions) -> Manifest:
    dependents = sorted(other for other, spec in runtime.services.items() if name in spec.depends_on)
    peers: list[dict[str, Any]] = [{"podSelector": {"matchLabels": _selector(dep)}} for dep in dependents]
    if service.router is not None:
        peers.append({"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": options.gateway_namespace}}})
    ports = [{"protocol": "TCP", "port": n} for n in container_ports(service).values()]
    # No peers means nothing may connect: the rule list stays empty rather than allowing all.
    ingress = [{"from": peers, "ports": ports}] if peers else []
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": _meta(name, service, options),
        "spec": {"podSelector": {"matchLabels": _selector(name)}, "policyTypes": ["Ingress"], "ingress": ingress},
    }


def _http_route(name: str, service: ServiceSpec, options: K8sOptions) -> Manifest:
    port = container_ports(service).get("http", _FIRST_PORT)
    return {
        "apiVersion": "gateway.networking.k8s.io/v1",
        "kind": "HTTPRoute",
        "metadata": _meta(name, service, options),
        "spec": {
            "parentRefs": [
                {
                    "group": "gateway.networking.k8s.io",
                    "kind": "Gateway",
                    "name": options.gateway_name,
                    "namespace": options.gateway_namespace,
                }
            ],
            "hostnames": [f"{name}.{options.domain}"],
            "rules": [
                {
                    "matches": [{"path": {"type": "PathPrefix", "value": "/"}}],
                    "backendRefs": [{"group": "", "kind": "Service", "name": name, "port": port, "weight": 100}],
                }
            ],
        },
    }


def _namespace(options: K8sOptions) -> list[Manifest]:
    labels = {"app.kubernetes.io/part-of": PART_OF, "pod-security.kubernetes.io/enforce": "restricted"}
    return [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": options.namespace, "labels": labels}},
        {
            "apiVersion": "networking.k8s.io/v1",
            "kind": "NetworkPolicy",
            "metadata": {"name": "default-deny-ingress", "namespace": options.namespace, "labels": labels},
            "spec": {"podSelector": {}, "policyTypes": ["Ingress"]},
        },
    ]


def render_service(name: str, runtime: RuntimeSettings, options: K8sOptions | None = None) -> list[Manifest]:
    """The objects for one service, in apply order."""
    options = options or K8sOptions()
    try:
        service = runtime.services[name]
    except KeyError:
        raise InputError(f"no service {name!r} in runtime.services", field="service") from None
    objects = [
        _deployment(name, service, runtime, options),
        _service(name, service, options),
        _pdb(name, service, options),
    ]
    if service.replicas > 0:
        objects.append(_hpa(name, service, options))
    objects.append(_network_policy(name, service, runtime, options))
    if service.router is not None and "http" in service.ports:
        objects.append(_http_route(name, service, options))
    return objects


def render_manifests(runtime: RuntimeSettings, options: K8sOptions | None = None) -> dict[str, list[Manifest]]:
    """Every object, grouped by file: ``namespace`` first, then one group per service."""
    options = options or K8sOptions()
    if not runtime.services:
        raise InputError(
            "runtime.services is empty: there is nothing to render",
            field="runtime.services",
            fix="describe the services under runtime.services in finpilot.yaml",
        )
    groups = {"namespace": _namespace(options)}
    for name in runtime.services:
        groups[name] = render_service(name, runtime, options)
    return groups


def write_manifests(groups: Mapping[str, list[Manifest]], directory: Path) -> list[Path]:
    """Write each group as a multi-document YAML file ``<group>.yaml``; return the paths."""
    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    for group, objects in groups.items():
        path = safe_child(directory, f"{group}.yaml", field="runtime.services")
        path.write_text(yaml.safe_dump_all(objects, sort_keys=False, default_flow_style=False))
        paths.append(path)
    return paths
