"""The controller API, served by uvicorn over a real runtime: every route, called for real, answers
what its ``/openapi.json`` says, errors share the console's statuses and body, and the client
gets the controller's own error types back."""

from __future__ import annotations

import json
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from heal_helpers import PRIVATE_PUBLIC_POOLS, running, wait_for
from openapi_helpers import OpenApiCheck

from finpilot.core import AuthError, InputError, NotFoundError
from finpilot.heal import RuntimeClient
from finpilot.heal._api import ControllerApi

pytestmark = pytest.mark.slow


def _runtime(tmp: Path) -> dict[str, Any]:
    web = {
        "module": "http.server",
        "args": ["{port}", "--bind", "127.0.0.1", "--directory", str(tmp)],
        "replicas": 2,
        "probes": {"readiness": {"tcp": True, "interval_s": 0.2}},
        "router": {"port": 0},
    }
    return {
        "nodes": [{"name": "n1", "pool": "private"}, {"name": "n2", "pool": "private"}],
        "pools": PRIVATE_PUBLIC_POOLS,
        "services": {"web": web},
    }


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[Path, dict[str, Any]]]:
    """A running runtime with its API published in ``<state>/runtime``; the state dir and the runtime spec."""
    runtime = _runtime(tmp_path)
    with running(tmp_path, runtime) as (controller, _ledger):
        state = tmp_path / "state" / "runtime"
        api = ControllerApi(controller, state)
        api.start()
        try:
            wait_for(lambda: controller.status()["services"]["web"]["ready"] == 2, 60)
            yield state, runtime
        finally:
            api.stop()
    assert not (state / "controller.json").exists()


def test_every_route_answers_its_documented_schema(served: tuple[Path, dict[str, Any]]) -> None:
    state, runtime = served
    url = json.loads((state / "controller.json").read_text())["url"]
    token = (state / "controller.token").read_text()
    assert stat.S_IMODE((state / "controller.token").stat().st_mode) == 0o600
    with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=30) as http:
        check = OpenApiCheck(http.get("/openapi.json").json())
        status = check(http.get("/api/v1/status")).json()
        assert set(status["nodes"]) == {"n1", "n2"}
        assert check(http.get("/api/v1/status", headers={"Authorization": "Bearer wrong"})).status_code == 401

        bigger = {"runtime": {**runtime, "services": {"web": {**runtime["services"]["web"], "replicas": 3}}}}
        assert check(http.put("/api/v1/spec", json={"yaml": yaml.safe_dump(bigger)})).json() == {"applied": True}
        bad = check(http.put("/api/v1/spec", json={"yaml": "runtime: {nodes: 3}"}))
        assert bad.status_code == 422
        back = check(http.post("/api/v1/spec/rollbacks", json={"actor": "api:test"})).json()
        assert (back["rolled_back"], back["services"]) == (True, {"web": 2})
        assert check(http.post("/api/v1/spec/rollbacks", json={})).status_code == 404
        scaled = check(http.put("/api/v1/services/web/replicas", json={"replicas": 3})).json()
        assert scaled == {"service": "web", "from": 2, "to": 3}
        assert RuntimeClient(state).scale("web", 2) == {"service": "web", "from": 3, "to": 2}
        assert check(http.put("/api/v1/services/nope/replicas", json={"replicas": 1})).status_code == 404
        assert check(http.put("/api/v1/services/web/replicas", json={"replicas": -1})).status_code == 422

        # Release arms (progressive delivery): a canary beside web, the traffic split, samples per group.
        canary = {"arms": {"canary": {"env": {"X": "1"}, "replicas": 1}}}
        assert check(http.put("/api/v1/services/web/arms", json=canary)).json() == {
            "service": "web",
            "arms": {"canary": 1},
        }
        split = {"shares": {"stable": 90, "canary": 10}}
        assert check(http.put("/api/v1/services/web/shares", json=split)).json()["shares"] == split["shares"]
        assert set(check(http.get("/api/v1/services/web/arms")).json()["groups"]) == {"stable", "canary"}
        assert "groups" in check(http.get("/api/v1/services/web/samples", params={"since": 0})).json()
        assert check(http.get("/api/v1/services/nope/arms")).status_code == 404
        assert check(http.put("/api/v1/services/web/arms", json={"arms": {}})).json()["arms"] == {}
        assert check(http.put("/api/v1/services/web/shares", json={"shares": {}})).json()["shares"] == {}

        fault = {"actor": "api:test"}
        killed = check(http.post("/api/v1/chaos/faults", json={**fault, "fault": "kill", "target": "web/0"})).json()
        assert killed["fault"] == "kill"
        assert killed["signal"] == "SIGKILL"
        slow = {**fault, "fault": "latency", "target": "web", "ms": 5}
        assert check(http.post("/api/v1/chaos/faults", json=slow)).json()["ms"] == 5
        no_ms = check(http.post("/api/v1/chaos/faults", json={**slow, "ms": None}))
        assert (no_ms.status_code, no_ms.json()["field"]) == (422, "ms")
        full = {**fault, "fault": "disk-full", "target": "n2"}
        assert check(http.post("/api/v1/chaos/faults", json=full)).json()["changed"] is True
        assert check(http.post("/api/v1/chaos/faults", json={**full, "clear": True})).json()["disk_pressure"] is False
        unknown = check(http.post("/api/v1/chaos/faults", json={**fault, "fault": "flood", "target": "n1"}))
        assert (unknown.status_code, unknown.json()["field"]) == (422, "fault")
        forged = check(http.post("/api/v1/chaos/faults", json={"fault": "kill", "target": "web/1", "actor": "root"}))
        assert (forged.status_code, forged.json()["field"]) == (422, "actor")

        assert check(http.post("/api/v1/nodes/n1/up", json=fault)).status_code == 422  # its agent still runs
        drained = check(http.post("/api/v1/nodes/n1/drain", json=fault)).json()
        assert drained == {"node": "n1", "state": "draining"}
        assert check(http.post("/api/v1/nodes/n9/drain", json=fault)).status_code == 404
        check(http.post("/api/v1/chaos/faults", json={**fault, "fault": "node-down", "target": "n2"}))
        client = RuntimeClient(state)
        wait_for(lambda: client.status()["nodes"]["n2"]["status"] == "NotReady", 30, step=0.1)
        back_up = check(http.post("/api/v1/nodes/n2/up", json=fault)).json()
        assert back_up["node"] == "n2"
        not_json = check(
            http.post("/api/v1/nodes/n2/drain", content=b"{", headers={"Content-Type": "application/json"})
        )
        assert not_json.status_code == 400

        assert check.unexercised() == set(), "every route of the controller is called above"
        for body in (bad.json(), no_ms.json()):
            assert set(body) == {"error", "message", "field", "fix"}


def test_the_client_gets_the_controllers_error_types(served: tuple[Path, dict[str, Any]]) -> None:
    state, _runtime_spec = served
    client = RuntimeClient(state)
    with pytest.raises(NotFoundError, match="no service named 'nope'"):
        client.chaos("kill", "nope/0", actor="cli:test")
    with pytest.raises(InputError, match="still has its agent"):
        client.node_up("n1", actor="cli:test")
    (state / "controller.token").write_text("not-the-token")
    with pytest.raises(AuthError):
        client.status()
