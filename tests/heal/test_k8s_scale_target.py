"""The autoscaler's Kubernetes target: the objects it patches pass the official schema.

Not run against a live cluster (none here): the patch bodies are checked as whole objects with
``kubernetes-validate``, strictly, like the rendered manifests in test_k8s.py.
"""

from __future__ import annotations

import kubernetes_validate
import pytest

from finpilot.core import InputError
from finpilot.heal import KubernetesScaleTarget, render_hpa_bounds, render_scale

VERSIONS = ["1.30.0", kubernetes_validate.latest_version()]


@pytest.mark.parametrize("version", VERSIONS)
def test_the_scale_and_hpa_objects_validate(version: str) -> None:
    kubernetes_validate.validate(render_scale("shop", "payments", 7), version, strict=True)
    kubernetes_validate.validate(render_hpa_bounds("shop", "payments", "payments", 4, 20), version, strict=True)


def test_a_broken_scale_object_is_caught_by_the_schema() -> None:
    broken = render_scale("shop", "payments", 7)
    broken["spec"]["replicas"] = "seven"
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, VERSIONS[-1], strict=True)


def test_the_patch_bodies_are_the_rendered_specs() -> None:
    replicas = KubernetesScaleTarget(api_client=None, namespace="shop")
    assert replicas.patch("payments", 5) == {"spec": {"replicas": 5}}
    assert replicas.describe() == "k8s:shop/deployment"
    hpa = KubernetesScaleTarget(api_client=None, namespace="shop", mode="hpa", hpa_max=12)
    assert hpa.patch("payments", 5) == {"spec": {"minReplicas": 5, "maxReplicas": 12}}
    # A floor above the HPA's ceiling lifts the ceiling with it rather than making an invalid HPA.
    assert hpa.patch("payments", 15) == {"spec": {"minReplicas": 15, "maxReplicas": 15}}
    assert hpa.describe() == "k8s:shop/hpa"


def test_impossible_hpa_bounds_are_refused() -> None:
    with pytest.raises(InputError, match="min <= max"):
        render_hpa_bounds("shop", "payments", "payments", 0, 5)
