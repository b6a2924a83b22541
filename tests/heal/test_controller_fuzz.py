"""A bounded schemathesis run over the runtime controller's API: no 5xx, and every answer as documented.

The API layer is what is fuzzed (routing, validation, errors, the documented shapes), so the
controller behind it is a stand-in with one node (``n1``) and one service (``web``) that
answers as the real one does; the spec route parses the text for real, config errors included.
"""

from __future__ import annotations

import time
from typing import Any

from fuzz_helpers import fuzz_app
from starlette.testclient import TestClient

from finpilot.core import InputError, NotFoundError, parse_settings
from finpilot.heal._api._app import create_controller_app

TOKEN = "fuzz-token"


class StandInController:
    """The controller methods the API calls, over a fixed runtime of one node and one service."""

    def status(self) -> dict[str, Any]:
        """One ready node, one service with one replica."""
        return {
            "nodes": {
                "n1": {
                    "status": "Ready",
                    "pool": None,
                    "cordoned": False,
                    "drain": None,
                    "heartbeat_age_s": 0.1,
                    "agent_pid": 1,
                    "conditions": [],
                }
            },
            "services": {
                "web": {"replicas": 1, "ready": 1, "classification": "stateless", "router": None, "pending": {}}
            },
            "replicas": {
                "web/0@n1": {
                    "service": "web",
                    "slot": "web/0",
                    "node": "n1",
                    "port": 8000,
                    "pid": 2,
                    "state": "running",
                    "ready": True,
                    "restarts": 0,
                    "role": "serving",
                }
            },
        }

    @staticmethod
    def _node(name: str) -> str:
        if name != "n1":
            raise NotFoundError(f"no node named '{name}'", fix="nodes: n1")
        return name

    @staticmethod
    def _replica(target: str) -> str:
        if target.partition("/")[0] != "web":
            raise NotFoundError(f"no replica '{target}'", fix="services: web")
        return "web/0@n1"

    @staticmethod
    def _service(name: str) -> str:
        if name != "web":
            raise NotFoundError(f"no service named '{name}'", fix="services: web")
        return name

    def service_arms(self, service: str) -> dict[str, Any]:
        """web alone, no arms."""
        self._service(service)
        return {"groups": {"stable": {"replicas": 1, "running": 1, "ready": 1}}, "env": {}, "replicas": 1}

    def set_arms(self, service: str, arms: dict[str, Any], *, stable: Any = None) -> dict[str, Any]:
        """Arms of web, by name."""
        return {"service": self._service(service), "arms": {a: s.replicas for a, s in arms.items()}}

    def set_shares(self, service: str, shares: dict[str, int]) -> dict[str, Any]:
        """The split of web's traffic."""
        return {"service": self._service(service), "shares": dict(shares)}

    def arm_samples(self, service: str, since: float = 0.0) -> dict[str, list[tuple[float, float, bool]]]:
        """One request of web's stable replica."""
        self._service(service)
        return {"stable": [(since, 1.5, False)]}

    def scale(self, service: str, replicas: int) -> dict[str, Any]:
        """web from 1 replica to ``replicas``."""
        return {"service": self._service(service), "from": 1, "to": replicas}

    def drain(self, node: str, *, actor: str) -> dict[str, Any]:
        """Start draining ``n1``."""
        return {"node": self._node(node), "state": "draining"}

    def node_up(self, node: str, *, actor: str) -> dict[str, Any]:
        """Refused, as for a node whose agent still runs."""
        self._node(node)
        raise InputError(f"node '{node}' is Ready; its agent runs", field="name")

    def chaos_signal(self, target: str, fault: str, *, actor: str) -> dict[str, Any]:
        """Kill or hang the web replica."""
        signal = "SIGKILL" if fault == "kill" else "SIGSTOP"
        return {"fault": fault, "instance": self._replica(target), "node": "n1", "pid": 2, "signal": signal}

    def chaos_node_down(self, node: str, *, actor: str) -> dict[str, Any]:
        """Take ``n1`` down."""
        return {"fault": "node-down", "node": self._node(node), "agent_pid": 1, "replicas": [], "t": time.time()}

    def chaos_latency(self, target: str, ms: float, *, actor: str) -> dict[str, Any]:
        """Slow the web replica down."""
        return {"instances": [self._replica(target)], "ms": ms, "t": time.time()}

    def chaos_disk_full(self, node: str, *, on: bool, actor: str) -> dict[str, Any]:
        """Fill (or clear) ``n1``'s disk."""
        return {"node": self._node(node), "disk_pressure": on, "changed": True}

    def apply_config(self, text: str, *, source: str) -> dict[str, Any]:
        """Validate the text for real; nothing is applied."""
        parse_settings(text, source=source)
        return {"applied": True}

    def rollback(self, *, actor: str, service: str | None = None) -> dict[str, Any]:
        """Nothing to roll back to, as after a fresh start."""
        raise NotFoundError("there is no previous runtime spec to roll back to")


def test_every_operation_answers_as_documented() -> None:
    app = create_controller_app(StandInController(), TOKEN)  # type: ignore[arg-type]
    failures = fuzz_app(app, {"Authorization": f"Bearer {TOKEN}"})
    assert not failures, "\n\n".join(failures)


def test_without_the_token_every_operation_answers_as_documented() -> None:
    failures = fuzz_app(create_controller_app(StandInController(), TOKEN))  # type: ignore[arg-type]
    assert not failures, "\n\n".join(failures)


def test_deeply_nested_json_is_a_400() -> None:
    headers = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"}
    with TestClient(create_controller_app(StandInController(), TOKEN)) as client:  # type: ignore[arg-type]
        for path in ("/api/v1/nodes/n1/drain", "/api/v1/chaos/faults", "/api/v1/spec/rollbacks"):
            answer = client.post(path, content=b"[" * 4000, headers=headers)
            assert answer.status_code == 400, answer.text
            assert set(answer.json()) == {"error", "message", "field", "fix"}
        answer = client.put("/api/v1/spec", content=b"[" * 4000, headers=headers)
        assert answer.status_code == 400, answer.text
