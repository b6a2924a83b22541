"""The Kubernetes canary: baseline and canary Deployments and a weighted HTTPRoute, validated offline.

Core kinds are validated against the official schemas (kubernetes-validate); the HTTPRoute gets the
structural check of tests/heal/test_k8s.py (a subset of the Gateway API CRD, not the CRD itself).
Not run against a live cluster.
"""

from __future__ import annotations

import importlib.util
import socket
from pathlib import Path
from typing import Any

import pytest

from finpilot.core import InputError
from finpilot.deliver import render_canary
from finpilot.heal import demo_runtime

_SPEC = importlib.util.spec_from_file_location("heal_k8s_checks", Path(__file__).parents[2] / "heal" / "test_k8s.py")
assert _SPEC is not None
assert _SPEC.loader is not None
_CHECKS: Any = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(_CHECKS)


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Validation must work offline: any connection attempt fails the test."""

    def refuse(*args: object, **kwargs: object) -> None:
        raise OSError("network disabled in this test")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


@pytest.mark.usefixtures("no_network")
def test_canary_objects_validate_and_the_route_splits_by_weight(tmp_path: Path) -> None:
    objects = render_canary(
        demo_runtime(tmp_path), "payments", release="payments@sha256-ab12", env={"LOG": "debug"}, weight=10
    )
    for obj in objects:
        _CHECKS.validate(obj)
    deployments = {o["metadata"]["name"]: o for o in objects if o["kind"] == "Deployment"}
    assert set(deployments) == {"payments", "payments-baseline", "payments-canary"}
    assert deployments["payments-canary"]["spec"]["replicas"] == deployments["payments-baseline"]["spec"]["replicas"]
    canary_env = {
        e["name"]: e.get("value")
        for e in deployments["payments-canary"]["spec"]["template"]["spec"]["containers"][0]["env"]
    }
    assert canary_env["PAYMENTS_VERSION"] == "payments@sha256-ab12"
    assert canary_env["LOG"] == "debug"
    base_env = {e["name"] for e in deployments["payments-baseline"]["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert "LOG" not in base_env
    routes = [o for o in objects if o["kind"] == "HTTPRoute"]
    assert len(routes) == 1
    assert objects[-1] is routes[0]
    refs = {r["name"]: r["weight"] for r in routes[0]["spec"]["rules"][0]["backendRefs"]}
    assert refs == {"payments": 80, "payments-baseline": 10, "payments-canary": 10}
    assert not [o for o in objects if o["kind"] == "HorizontalPodAutoscaler" and o["metadata"]["name"] != "payments"]


def test_bad_weight_service_and_release_are_input_errors(tmp_path: Path) -> None:
    runtime = demo_runtime(tmp_path)
    for kwargs, field in (
        ({"service": "payments", "release": "r1", "weight": 60}, "weight"),
        ({"service": "nope", "release": "r1", "weight": 10}, "service"),
        ({"service": "payments", "release": "bad id", "weight": 10}, "release"),
    ):
        with pytest.raises(InputError) as err:
            render_canary(runtime, env={}, **kwargs)  # type: ignore[arg-type]
        assert err.value.field == field
