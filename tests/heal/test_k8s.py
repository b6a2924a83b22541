"""``finpilot k8s render``: every object validates against the official Kubernetes schemas, offline.

HTTPRoute is a Gateway API CRD, absent from the core schemas kubernetes-validate ships, and
its CRD is not on this machine: it gets a structural check against the subset of the
gateway.networking.k8s.io/v1 HTTPRoute schema written out below. That is NOT validation
against the official CRD.
"""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st
from typer.testing import CliRunner

from finpilot.cli import app
from finpilot.core import InputError, RuntimeSettings, load_settings
from finpilot.heal import K8sOptions, demo_runtime, render_manifests, write_manifests
from finpilot.heal._k8s._render import render_service

DEMO = Path(__file__).resolve().parents[2] / "examples" / "heal" / "finpilot.yaml"
VERSIONS = ["1.30.0", kubernetes_validate.latest_version()]

_NAME = {"type": "string", "minLength": 1, "maxLength": 253}
HTTPROUTE_SUBSET: dict[str, Any] = {
    "type": "object",
    "required": ["apiVersion", "kind", "metadata", "spec"],
    "properties": {
        "apiVersion": {"const": "gateway.networking.k8s.io/v1"},
        "kind": {"const": "HTTPRoute"},
        "metadata": {"type": "object", "required": ["name", "namespace"]},
        "spec": {
            "type": "object",
            "additionalProperties": False,
            "required": ["parentRefs", "rules"],
            "properties": {
                "parentRefs": {
                    "type": "array",
                    "minItems": 1,
                    "maxItems": 32,
                    "items": {
                        "type": "object",
                        "additionalProperties": False,
                        "required": ["name"],
                        "properties": {
                            "group": {"type": "string"},
                            "kind": {"type": "string", "pattern": "^[a-zA-Z]([-a-zA-Z0-9]*[a-zA-Z0-9])?$"},
                            "name": _NAME,
                            "namespace": {"type": "string", "pattern": "^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"},
                            "sectionName": {"type": "string"},
                        },
                    },
                },
                "hostnames": {
                    "type": "array",
                    "maxItems": 16,
                    "items": {
                        "type": "string",
                        "pattern": r"^(\*\.)?[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$",
                    },
                },
                "rules": {
                    "type": "array",
                    "minItems": 1,
                    "maxItems": 16,
                    "items": {
                        "type": "object",
                        "additionalProperties": False,
                        "properties": {
                            "matches": {
                                "type": "array",
                                "items": {
                                    "type": "object",
                                    "properties": {
                                        "path": {
                                            "type": "object",
                                            "additionalProperties": False,
                                            "properties": {
                                                "type": {"enum": ["Exact", "PathPrefix", "RegularExpression"]},
                                                "value": {"type": "string", "pattern": "^/", "maxLength": 1024},
                                            },
                                        }
                                    },
                                },
                            },
                            "backendRefs": {
                                "type": "array",
                                "items": {
                                    "type": "object",
                                    "additionalProperties": False,
                                    "required": ["name", "port"],
                                    "properties": {
                                        "group": {"type": "string"},
                                        "kind": {"type": "string"},
                                        "name": _NAME,
                                        "port": {"type": "integer", "minimum": 1, "maximum": 65535},
                                        "weight": {"type": "integer", "minimum": 0, "maximum": 1000000},
                                    },
                                },
                            },
                        },
                    },
                },
            },
        },
    },
}


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any attempt to open a connection fails: validation must work offline."""

    def refuse(*args: object, **kwargs: object) -> None:
        raise OSError("network disabled in this test")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


def _demo_runtime() -> RuntimeSettings:
    return load_settings(DEMO).runtime


def _objects(groups: dict[str, list[dict[str, Any]]]) -> Iterator[dict[str, Any]]:
    for group in groups.values():
        yield from group


def validate(obj: dict[str, Any]) -> str:
    """Validate one object: the official schema for core kinds, the structural subset for HTTPRoute."""
    if obj["kind"] == "HTTPRoute":
        jsonschema.validate(obj, HTTPROUTE_SUBSET)
        return "structural"
    for version in VERSIONS:
        kubernetes_validate.validate(obj, version, strict=True)
    return "schema"


@pytest.mark.usefixtures("no_network")
def test_demo_stack_validates_with_probes_pdbs_policies_and_limits() -> None:
    """Acceptance 6."""
    groups = render_manifests(_demo_runtime())
    kinds: dict[str, list[str]] = {}
    for obj in _objects(groups):
        validate(obj)
        kinds.setdefault(obj["kind"], []).append(obj["metadata"]["name"])
    services = ["payments", "console"]
    for kind in ("Deployment", "Service", "PodDisruptionBudget", "HorizontalPodAutoscaler", "HTTPRoute"):
        assert sorted(kinds[kind]) == sorted(services), kind
    assert sorted(kinds["NetworkPolicy"]) == sorted([*services, "default-deny-ingress"])
    for deployment in (o for o in _objects(groups) if o["kind"] == "Deployment"):
        container = deployment["spec"]["template"]["spec"]["containers"][0]
        assert "livenessProbe" in container
        assert "readinessProbe" in container
        assert container["resources"]["limits"]
        assert container["resources"]["requests"]
        assert container["securityContext"]["readOnlyRootFilesystem"] is True
        assert deployment["spec"]["template"]["spec"]["securityContext"]["runAsNonRoot"] is True


@pytest.mark.usefixtures("no_network")
def test_builtin_demo_stack_validates(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Acceptance 6 for the runtime's built-in demo (``demo_runtime``), rendered by the CLI with no config."""
    monkeypatch.chdir(tmp_path)
    for name in ("FINPILOT_CONFIG", "FINPILOT_DATA_DIR"):
        monkeypatch.delenv(name, raising=False)
    result = CliRunner().invoke(app, ["k8s", "render", "--json"])
    assert result.exit_code == 0, result.output
    assert "built-in demo stack" in result.stderr
    rendered = json.loads(result.stdout)
    assert rendered["files"] == []  # nothing written without --out
    objects = rendered["objects"]
    assert objects == list(_objects(render_manifests(demo_runtime(Path(".finpilot")))))
    for obj in objects:
        validate(obj)
    kinds = sorted(o["kind"] for o in objects if o["metadata"]["name"] == "payments")
    assert kinds == sorted(
        ["Deployment", "Service", "PodDisruptionBudget", "HorizontalPodAutoscaler", "NetworkPolicy", "HTTPRoute"]
    )
    container = objects[2]["spec"]["template"]["spec"]["containers"][0]
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert container["resources"]["limits"]


def test_validation_catches_a_broken_object() -> None:
    deployment = render_service("payments", _demo_runtime())[0]
    deployment["spec"]["template"]["spec"]["containers"][0]["livenessProbe"]["periodSecs"] = 1
    with pytest.raises(kubernetes_validate.ValidationError):
        validate(deployment)
    route = render_service("payments", _demo_runtime())[-1]
    route["spec"]["rules"][0]["backendRefs"][0]["port"] = 0
    with pytest.raises(jsonschema.ValidationError):
        validate(route)


def test_payments_maps_spec_fields() -> None:
    deployment, service, pdb, hpa, policy, route = render_service("payments", _demo_runtime())
    pod = deployment["spec"]["template"]["spec"]
    container = pod["containers"][0]
    assert deployment["spec"]["replicas"] == 2
    assert container["command"] == ["python", "-m", "finpilot_payments", "--host", "0.0.0.0", "--port", "8080"]
    live = container["livenessProbe"]
    assert live["httpGet"] == {"path": "/healthz", "port": "http"}
    # 0.5 s locally; Kubernetes counts whole seconds, so it rounds up rather than probing harder than asked.
    assert live["periodSeconds"] == 1
    assert live["failureThreshold"] == 3
    assert container["resources"]["limits"] == {"cpu": "500m", "memory": "256Mi"}
    assert {
        "name": "PAYMENTS_DSN",
        "valueFrom": {"secretKeyRef": {"name": "payments-secrets", "key": "PAYMENTS_DSN"}},
    } in container["env"]
    assert pod["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]["nodeSelectorTerms"] == [
        {"matchExpressions": [{"key": "finpilot.io/pool", "operator": "In", "values": ["private"]}]}
    ]
    assert [t["value"] for t in pod["tolerations"]] == ["private"]
    assert service["spec"]["ports"] == [{"name": "http", "port": 8080, "targetPort": "http", "protocol": "TCP"}]
    assert pdb["spec"]["minAvailable"] == 1
    assert (hpa["spec"]["minReplicas"], hpa["spec"]["maxReplicas"]) == (2, 6)
    peers = policy["spec"]["ingress"][0]["from"]
    assert {
        "podSelector": {"matchLabels": {"app.kubernetes.io/name": "console", "app.kubernetes.io/part-of": "finpilot"}}
    } in peers
    assert {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "finpilot-gateway"}}} in peers
    assert route["spec"]["rules"][0]["backendRefs"][0]["port"] == 8080


def test_secret_values_never_rendered(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PAYMENTS_DSN", "postgresql://app:hunter2-secret@db/payments")
    text = yaml.safe_dump_all(list(_objects(render_manifests(_demo_runtime()))))
    assert "hunter2-secret" not in text
    assert "PAYMENTS_DSN" in text


def _runtime(**service: Any) -> RuntimeSettings:
    spec = {"module": "app", "ports": {"http": 0}, **service}
    return RuntimeSettings.model_validate(
        {
            "nodes": [{"name": "n1", "pool": "private"}, {"name": "p1", "pool": "public"}],
            "pools": {
                "private": {"classifications": ["pci", "pii", "public"]},
                "public": {"classifications": ["public"]},
            },
            "services": {"svc": spec},
        }
    )


@pytest.mark.usefixtures("no_network")
def test_probe_kinds_and_a_lone_service() -> None:
    runtime = _runtime(
        replicas=0,
        disruption={"min_available": 0},
        probes={
            "liveness": {"exec": ["/bin/check", "--quick"], "interval_s": 2.2, "initial_delay_s": 2.5},
            "readiness": {"tcp": True},
        },
    )
    objects = render_service("svc", runtime)
    assert [o["kind"] for o in objects] == ["Deployment", "Service", "PodDisruptionBudget", "NetworkPolicy"]
    for obj in objects:
        validate(obj)
    container = objects[0]["spec"]["template"]["spec"]["containers"][0]
    assert container["livenessProbe"]["exec"] == {"command": ["/bin/check", "--quick"]}
    assert (container["livenessProbe"]["periodSeconds"], container["livenessProbe"]["initialDelaySeconds"]) == (3, 3)
    assert container["readinessProbe"]["tcpSocket"] == {"port": "http"}
    assert objects[-1]["spec"]["ingress"] == []  # no dependents, no router: nothing may connect


@given(
    classification=st.sampled_from(["pci", "pii", "public"]),
    pools=st.dictionaries(
        st.sampled_from(["private", "public", "edge", "burst"]),
        st.lists(st.sampled_from(["pci", "pii", "public"]), min_size=1, unique=True),
        min_size=1,
    ),
)
def test_placement_follows_the_pools(classification: str, pools: dict[str, list[str]]) -> None:
    admitting = sorted(p for p, classes in pools.items() if classification in classes)
    if not admitting:
        return  # the spec itself rejects an impossible placement
    runtime = RuntimeSettings.model_validate(
        {
            "nodes": [{"name": f"n-{p}", "pool": p} for p in pools],
            "pools": {p: {"classifications": c} for p, c in pools.items()},
            "services": {"svc": {"module": "app", "classification": classification}},
        }
    )
    pod = render_service("svc", runtime)[0]["spec"]["template"]["spec"]
    term = pod["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]["nodeSelectorTerms"][0]
    assert term["matchExpressions"][0]["values"] == admitting
    assert [t["value"] for t in pod["tolerations"]] == admitting
    if classification == "pci":
        assert all("pci" in pools[p] for p in term["matchExpressions"][0]["values"])


def test_cli_render_writes_files_that_round_trip(tmp_path: Path) -> None:
    out = tmp_path / "k8s"
    result = CliRunner().invoke(app, ["k8s", "render", "--config", str(DEMO), "--out", str(out), "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert len(summary["objects"]) == sum(len(g) for g in render_manifests(_demo_runtime()).values())
    assert sorted(Path(p).name for p in summary["files"]) == ["console.yaml", "namespace.yaml", "payments.yaml"]
    groups = render_manifests(_demo_runtime())
    for name, objects in groups.items():
        assert list(yaml.safe_load_all((out / f"{name}.yaml").read_text())) == objects
    stdout = CliRunner().invoke(app, ["k8s", "render", "--config", str(DEMO), "--namespace", "pay"])
    docs = list(yaml.safe_load_all(stdout.stdout))
    assert docs[0] == {**docs[0], "kind": "Namespace"}
    assert docs[0]["metadata"]["name"] == "pay"
    assert all(d["metadata"].get("namespace", "pay") == "pay" for d in docs)


def test_empty_runtime_and_missing_kubeconfig_are_input_errors(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="nothing to render"):
        render_manifests(RuntimeSettings())
    config = tmp_path / "empty.yaml"
    config.write_text("data_dir: x\n")
    assert CliRunner().invoke(app, ["k8s", "render", "--config", str(config)]).exit_code == 2
    result = CliRunner().invoke(app, ["k8s", "apply", "--config", str(DEMO), "--kubeconfig", str(tmp_path / "nope")])
    assert result.exit_code == 2
    assert "does not exist" in result.stderr


def test_write_manifests_names_files_by_group(tmp_path: Path) -> None:
    options = K8sOptions(namespace="ops", image="registry.local/fp:1")
    paths = write_manifests(render_manifests(_demo_runtime(), options), tmp_path)
    text = (tmp_path / "payments.yaml").read_text()
    assert [p.name for p in paths] == ["namespace.yaml", "payments.yaml", "console.yaml"]
    assert "image: registry.local/fp:1" in text
    assert "namespace: ops" in text
