"""Acceptance 7: an invalid service spec is rejected with the exact field and a fix, and a rejected
change leaves the running runtime untouched.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from heal_helpers import PRIVATE_PUBLIC_POOLS, all_ready, entries, running, serves, wait_for

from finpilot.core import ConfigError, RuntimeSettings, ServiceSpec, parse_settings

BASE = """
runtime:
  nodes:
    - {name: n1, pool: private, labels: {zone: a}}
    - {name: p1, pool: public}
  pools:
    private: {classifications: [pci, pii, public]}
    public: {classifications: [public]}
  services:
    payments:
      module: finpilot_payments
      args: [--port, "{port}"]
      replicas: 2
      classification: pci
      probes:
        liveness: {http: /healthz, interval_s: 0.5}
      restart: {backoff_initial_s: 0, backoff_max_s: 10}
      disruption: {min_available: 1}
"""


def _reject(text: str) -> ConfigError:
    with pytest.raises(ConfigError) as caught:
        parse_settings(text)
    return caught.value


def test_the_base_spec_is_valid() -> None:
    runtime = parse_settings(BASE).runtime
    assert runtime.services["payments"].replicas == 2
    assert runtime.admits(runtime.nodes[0], runtime.services["payments"])
    assert not runtime.admits(runtime.nodes[1], runtime.services["payments"])


@pytest.mark.parametrize(
    ("old", "new", "field", "line", "message", "fix"),
    [
        (
            "{name: p1, pool: public}",
            "{name: p1, pool: publik}",
            "runtime.nodes.1.pool",
            5,
            "unknown pool 'publik' (pools: private, public)",
            "add 'publik' under runtime.pools",
        ),
        (
            "    private: {classifications: [pci, pii, public]}",
            "    private: {classifications: [pii, public]}",
            "runtime.services.payments.classification",
            14,
            "impossible placement: no node may run a 'pci' service (pools admitting it: none)",
            "add a node in a pool whose classifications include 'pci'",
        ),
        (
            "liveness: {http: /healthz, interval_s: 0.5}",
            "liveness: {interval_s: 0.5}",
            "runtime.services.payments.probes.liveness",
            16,
            "a probe needs exactly one target",
            "set one of 'http: /healthz', 'tcp: true' or 'exec: [cmd, ...]'",
        ),
        (
            "liveness: {http: /healthz, interval_s: 0.5}",
            "liveness: {http: /healthz, tcp: true}",
            "runtime.services.payments.probes.liveness",
            16,
            "a probe needs exactly one target, not http and tcp",
            None,
        ),
        (
            "backoff_initial_s: 0,",
            "backoff_initial_s: -0.5,",
            "runtime.services.payments.restart.backoff_initial_s",
            17,
            "Input should be greater than or equal to 0",
            None,
        ),
        (
            "backoff_initial_s: 0, backoff_max_s: 10",
            "backoff_initial_s: 5, backoff_max_s: 1",
            "runtime.services.payments.restart.backoff_max_s",
            17,
            "backoff_max_s (1.0) is below backoff_initial_s (5.0)",
            "make backoff_max_s at least backoff_initial_s",
        ),
        (
            "min_available: 1",
            "min_available: 3",
            "runtime.services.payments.disruption.min_available",
            18,
            "min_available (3) is more than replicas (2)",
            "lower min_available to at most 2",
        ),
        (
            "      replicas: 2\n",
            "      replicas: 2\n      depends_on: [ledger]\n",
            "runtime.services.payments.depends_on.0",
            None,
            "depends on unknown service 'ledger'",
            None,
        ),
        (
            "      module: finpilot_payments\n",
            "      module: finpilot_payments\n      command: [/bin/true]\n",
            "runtime.services.payments",
            None,
            "a service needs exactly one of 'module' or 'command'",
            None,
        ),
        (
            "      replicas: 2\n",
            "      replicas: 2\n      secrets: {API_KEY: {value: hunter2}}\n",
            "runtime.services.payments.secrets.API_KEY.value",
            None,
            "Extra inputs are not permitted",
            None,
        ),
        (
            "      replicas: 2\n",
            "      replicas: 2\n      secrets: {API_KEY: hunter2}\n",
            "runtime.services.payments.secrets.API_KEY",
            None,
            "a secret is given by reference, never inline",
            "{env: NAME}",
        ),
    ],
)
def test_invalid_specs_are_rejected_with_the_field_and_a_fix(
    old: str, new: str, field: str, line: int | None, message: str, fix: str | None
) -> None:
    assert old in BASE
    error = _reject(BASE.replace(old, new, 1))
    assert error.field == field
    assert message in error.message
    if line is not None:
        assert error.line == line
    if fix is not None:
        assert error.fix is not None
        assert fix in error.fix
    assert "hunter2" not in str(error)  # an inline secret is refused without echoing it


def test_dependency_cycles_are_named() -> None:
    spec = {"module": "m", "disruption": {"min_available": 0}}
    with pytest.raises(ValueError, match=r"dependency cycle: a -> b -> a"):
        RuntimeSettings.model_validate(
            {"services": {"a": {**spec, "depends_on": ["b"]}, "b": {**spec, "depends_on": ["a"]}}}
        )


def test_probe_on_a_service_without_an_http_port_is_rejected() -> None:
    with pytest.raises(ValueError, match=r"probes\.readiness: .*declares no 'http' port"):
        ServiceSpec.model_validate({"module": "m", "ports": {}, "probes": {"readiness": {"tcp": True}}})


@pytest.mark.slow
def test_a_rejected_spec_change_leaves_the_running_runtime_untouched(tmp_path: Path) -> None:
    service = {
        "module": "http.server",
        "args": ["{port}", "--bind", "127.0.0.1", "--directory", str(tmp_path)],
        "replicas": 2,
        "probes": {"readiness": {"tcp": True, "interval_s": 0.2}},
    }
    runtime = {
        "nodes": [{"name": "n1", "pool": "private"}],
        "pools": PRIVATE_PUBLIC_POOLS,
        "services": {"web": service},
    }
    with running(tmp_path, runtime) as (controller, ledger):
        wait_for(all_ready(controller, "web", 2), timeout=60)
        before = wait_for(
            lambda: (r := controller.status()["replicas"]) and all(v["pid"] for v in r.values()) and r, 10
        )
        bad = yaml.safe_dump(
            {
                "runtime": {
                    **runtime,
                    "services": {
                        "web": {**service, "replicas": 3, "classification": "pci", "node_selector": {"zone": "z"}}
                    },
                }
            }
        )
        with pytest.raises(ConfigError) as caught:
            controller.apply_config(bad)
        assert caught.value.field == "runtime.services.web.classification"
        with pytest.raises(ConfigError, match="node list cannot change"):
            controller.apply_config(
                yaml.safe_dump({"runtime": {**runtime, "nodes": [{"name": "n9", "pool": "private"}]}})
            )
        after = controller.status()["replicas"]
        assert {k: (v["pid"], v["port"]) for k, v in after.items()} == {
            k: (v["pid"], v["port"]) for k, v in before.items()
        }
        assert all(serves(v["port"], "/") for v in after.values())
        assert entries(ledger, "heal.apply") == []
        # A valid change is applied, and the reconciler converges on it.
        controller.apply_config(
            yaml.safe_dump({"runtime": {**runtime, "services": {"web": {**service, "replicas": 3}}}})
        )
        wait_for(all_ready(controller, "web", 3), timeout=30)
        assert [e["evidence"]["services"] for e in entries(ledger, "heal.apply")] == [{"web": 3}]
