"""Kubernetes as a target of the predictive autoscaler: set a workload's replicas, or an HPA's floor.

Two modes. ``replicas`` patches the workload's ``scale`` subresource (what ``kubectl scale``
does). ``hpa`` leaves the HPA in charge and raises its ``minReplicas`` ahead of the forecast (and
lowers it back), so the cluster's own reactive scaling stays as the fallback.

NOT run against a live cluster here: the patches are rendered as whole objects and checked
against the official OpenAPI schema in the tests (``kubernetes-validate``), and the calls follow
the official client's documented API (``AppsV1Api.patch_namespaced_deployment_scale``,
``AutoscalingV2Api.patch_namespaced_horizontal_pod_autoscaler``).
"""

from __future__ import annotations

from typing import Any, Literal

from finpilot.core import InputError, StorageError

Mode = Literal["replicas", "hpa"]


def render_scale(namespace: str, name: str, replicas: int) -> dict[str, Any]:
    """The ``autoscaling/v1`` Scale object that sets a Deployment's replicas."""
    return {
        "apiVersion": "autoscaling/v1",
        "kind": "Scale",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {"replicas": replicas},
    }


def render_hpa_bounds(
    namespace: str, name: str, workload: str, min_replicas: int, max_replicas: int, target_utilization: int = 70
) -> dict[str, Any]:
    """An ``autoscaling/v2`` HPA with the given bounds (its ``spec`` bounds are the patch applied)."""
    if not 1 <= min_replicas <= max_replicas:
        raise InputError(
            f"HPA bounds {min_replicas}..{max_replicas} are not 1 <= min <= max",
            field="replicas",
            fix="keep the forecast floor within the HPA's maxReplicas",
        )
    return {
        "apiVersion": "autoscaling/v2",
        "kind": "HorizontalPodAutoscaler",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": workload},
            "minReplicas": min_replicas,
            "maxReplicas": max_replicas,
            "metrics": [
                {
                    "type": "Resource",
                    "resource": {
                        "name": "cpu",
                        "target": {"type": "Utilization", "averageUtilization": target_utilization},
                    },
                }
            ],
        },
    }


class KubernetesScaleTarget:
    """Sets Deployment replicas (``mode="replicas"``) or an HPA's ``minReplicas`` (``mode="hpa"``).

    ``api_client`` comes from :func:`finpilot.heal.kube_api_client`; service ``S`` maps to the
    Deployment (or HPA) named ``S`` in ``namespace``.
    """

    def __init__(self, api_client: Any, namespace: str, mode: Mode = "replicas", hpa_max: int = 20) -> None:
        self.api_client = api_client
        self.namespace = namespace
        self.mode = mode
        self.hpa_max = hpa_max

    def describe(self) -> str:
        """``k8s:<namespace>/<deployment|hpa>``."""
        kind = "deployment" if self.mode == "replicas" else "hpa"
        return f"k8s:{self.namespace}/{kind}"

    def patch(self, service: str, replicas: int) -> dict[str, Any]:
        """The patch body sent for ``set_replicas`` (the ``spec`` of the rendered object)."""
        if self.mode == "replicas":
            return {"spec": render_scale(self.namespace, service, replicas)["spec"]}
        hpa = render_hpa_bounds(self.namespace, service, service, replicas, max(replicas, self.hpa_max))
        spec = hpa["spec"]
        return {"spec": {"minReplicas": spec["minReplicas"], "maxReplicas": spec["maxReplicas"]}}

    def current(self, service: str) -> int:
        """The Deployment's replicas, or the HPA's ``minReplicas``."""
        from kubernetes import client
        from kubernetes.client.exceptions import ApiException

        try:
            if self.mode == "replicas":
                scale = client.AppsV1Api(self.api_client).read_namespaced_deployment_scale(service, self.namespace)
                return int(scale.spec.replicas or 0) if scale.spec is not None else 0
            hpa = client.AutoscalingV2Api(self.api_client).read_namespaced_horizontal_pod_autoscaler(
                service, self.namespace
            )
            return int(hpa.spec.min_replicas or 1)
        except ApiException as exc:
            raise StorageError(
                f"cannot read {service} in {self.namespace}: {exc.status} {exc.reason}",
                fix="check the name, the namespace and the kubeconfig's permissions",
            ) from None

    def set_replicas(self, service: str, replicas: int) -> None:
        """Send the patch."""
        from kubernetes import client
        from kubernetes.client.exceptions import ApiException

        body = self.patch(service, replicas)
        try:
            if self.mode == "replicas":
                client.AppsV1Api(self.api_client).patch_namespaced_deployment_scale(service, self.namespace, body)
            else:
                client.AutoscalingV2Api(self.api_client).patch_namespaced_horizontal_pod_autoscaler(
                    service, self.namespace, body
                )
        except ApiException as exc:
            raise StorageError(
                f"cannot scale {service} in {self.namespace}: {exc.status} {exc.reason}",
                fix="check the name, the namespace and the kubeconfig's permissions",
            ) from None
