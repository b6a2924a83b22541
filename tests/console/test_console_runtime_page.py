"""The Runtime and Incidents pages against a real local runtime: status, a kill and a node loss on the
timeline with the right audit indices, and a clean "not running" without one. The token never shows."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from console_helpers import MakeToken, TestClient, bearer

from finpilot.audit import Ledger
from finpilot.core import Settings
from finpilot.heal import LocalRuntime, demo_runtime, mint_demo_payments_token, state_dir_for

ORIGIN = {"Origin": "http://testserver"}


def login(client: TestClient, token: str, page: str) -> None:
    response = client.post("/login", data={"token": token, "next": page}, headers=ORIGIN)
    assert response.status_code == 200, response.text


def wait_for(check: Callable[[], Any], timeout: float, step: float = 0.05) -> Any:
    deadline = time.monotonic() + timeout
    value = check()
    while not value:
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout} s (last: {value!r})")
        time.sleep(step)
        value = check()
    return value


def test_no_runtime_is_shown_cleanly(client: TestClient, make_token: MakeToken, settings: Settings) -> None:
    viewer = make_token("viewer")
    assert client.get("/api/v1/runtime/status").status_code == 401
    assert client.get("/api/v1/incidents").status_code == 401
    assert client.get("/runtime", follow_redirects=False).status_code == 303
    body = client.get("/api/v1/runtime/status", headers=bearer(viewer)).json()
    assert body["running"] is False
    assert body["problem"] == "the runtime is not running"
    assert "finpilot runtime up" in body["fix"]
    assert str(settings.data_dir) not in json.dumps(body)  # no server paths for viewers

    # A runtime that died without cleaning up: its address answers nothing.
    state = state_dir_for(settings.data_dir)
    state.mkdir(parents=True)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        dead = sock.getsockname()[1]
    (state / "controller.json").write_text(json.dumps({"url": f"http://127.0.0.1:{dead}", "pid": 1}))
    (state / "controller.token").write_text("stale-token-value")
    body = client.get("/api/v1/runtime/status", headers=bearer(viewer)).json()
    assert body["running"] is False
    assert "does not answer" in body["problem"]

    login(client, viewer, "/runtime")
    page = client.get("/runtime").text
    assert 'id="runtime-problem"' in page
    assert "does not answer" in page
    assert '<a href="/runtime" aria-current="page">Runtime</a>' in page
    assert '<a href="/incidents">Incidents</a>' in page
    assert "stale-token-value" not in page
    incidents = client.get("/incidents").text
    assert 'id="incidents-none"' in incidents
    assert client.get("/api/v1/incidents", headers=bearer(viewer)).json()["incidents"] == []


@pytest.fixture
def local(settings: Settings, ledger: Ledger, tmp_path: Path) -> Iterator[LocalRuntime]:
    """The built-in demo runtime (payments on n1 and n2, public p1 idle), auditing to the console ledger."""
    mint_demo_payments_token(tmp_path / "demo")  # the replicas read it at start
    with LocalRuntime(demo_runtime(tmp_path / "demo"), settings.data_dir, ledger) as runtime:
        wait_for(lambda: runtime.controller.status()["services"]["payments"]["ready"] == 2, timeout=60)
        yield runtime


def kinds(ledger: Ledger, indices: list[int]) -> list[tuple[str, str]]:
    return [(ledger.entry(i).fields["kind"], ledger.entry(i).fields["action"]) for i in indices]


@pytest.mark.slow
def test_runtime_status_and_incidents_from_a_real_runtime(
    client: TestClient, make_token: MakeToken, ledger: Ledger, settings: Settings, local: LocalRuntime
) -> None:
    viewer = bearer(make_token("viewer"))
    token = (state_dir_for(settings.data_dir) / "controller.token").read_text().strip()

    def settled() -> dict[str, Any] | None:
        # Ready comes from the probe, the pid from the next heartbeat: wait for both.
        seen: dict[str, Any] = client.get("/api/v1/runtime/status", headers=viewer).json()
        reps = seen.get("replicas", {}).values()
        return seen if len(reps) == 2 and all(r["ready"] and r["pid"] for r in reps) else None

    status = wait_for(settled, timeout=30)
    assert status["running"] is True
    assert sorted(status["nodes"]) == ["n1", "n2", "p1"]
    assert (status["nodes"]["p1"]["pool"], status["nodes"]["n1"]["status"]) == ("public", "Ready")
    payments = status["services"]["payments"]
    assert (payments["replicas"], payments["ready"], payments["classification"]) == (2, 2, "pci")
    assert payments["router"][0] == "127.0.0.1"
    replicas = status["replicas"]
    assert sorted(r["node"] for r in replicas.values()) == ["n1", "n2"]
    # Placement: the pci service runs in the private pool only.
    assert {(r["pool"], r["classification"]) for r in replicas.values()} == {("private", "pci")}
    assert all(isinstance(r["restarts"], int) for r in replicas.values())
    assert token not in json.dumps(status)

    # A kill: fault -> detection -> recovery, each phase the right audit entry.
    local.controller.chaos_signal("payments/0", "kill", actor="cli:test")

    def recovered(fault: str) -> dict[str, Any] | None:
        found = client.get("/api/v1/incidents", headers=viewer).json()["incidents"]
        done = [i for i in found if i["fault"] == fault and i["status"] == "recovered"]
        return done[0] if done else None

    kill = wait_for(lambda: recovered("kill"), timeout=20)
    assert (kill["subject"], kill["injected"], kill["affected"]) == ("replica:payments/0", True, ["replica:payments/0"])
    by_phase = {p["phase"]: p["index"] for p in reversed(kill["phases"])}  # the first of each phase
    assert kinds(ledger, [by_phase["fault"], by_phase["detection"], by_phase["recovery"]]) == [
        ("chaos.inject", "kill"),
        ("heal.restart", "restart"),
        ("heal.recovered", "ready"),
    ]
    assert by_phase["fault"] < by_phase["detection"] < by_phase["recovery"]
    assert 0 <= kill["detection_s"] <= kill["recovery_s"] < 10
    since_cause = ledger.entry(by_phase["recovery"]).fields["evidence"]["since_cause_s"]
    assert kill["recovery_s"] >= since_cause - 0.05  # measured from the fault, so never much less

    # A node loss: n1's replica moves to n2 (never to the public p1); the incident waits for it.
    on_n1 = [
        iid
        for iid, r in client.get("/api/v1/runtime/status", headers=viewer).json()["replicas"].items()
        if r["node"] == "n1"
    ]
    local.controller.chaos_node_down("n1", actor="cli:test")
    down = wait_for(lambda: recovered("node-down"), timeout=30)
    assert down["subject"] == "node:n1"
    assert down["affected"] == sorted(f"replica:{iid.split('@')[0]}" for iid in on_n1)
    steps = [(p["phase"], *kinds(ledger, [p["index"]])[0]) for p in down["phases"]]
    assert steps[0] == ("fault", "chaos.inject", "node-down")
    assert ("detection", "heal.node", "stop-routing") in steps or ("detection", "heal.node", "mark-not-ready") in steps
    assert ("action", "heal.reschedule", "reschedule") in steps
    assert steps[-1][0] == "recovery"
    assert 0 < down["detection_s"] < down["recovery_s"] < 30

    status = wait_for(
        lambda: (
            (s := client.get("/api/v1/runtime/status", headers=viewer).json())["services"]["payments"]["ready"] == 2
            and s
        ),
        timeout=20,
    )
    assert status["nodes"]["n1"]["status"] == "NotReady"
    assert {r["node"] for r in status["replicas"].values() if r["role"] == "serving"} == {"n2"}

    # The pages: newest first, each phase linked to its entry; no token anywhere.
    login(client, make_token("viewer", "page-viewer"), "/incidents")
    page = client.get("/incidents").text
    assert page.index(f'id="{down["id"]}"') < page.index(f'id="{kill["id"]}"')
    for phase in kill["phases"] + down["phases"]:
        assert f'href="/api/v1/audit/entries/{phase["index"]}"' in page
    assert 'data-refresh-ms="5000"' in page
    runtime_page = client.get("/runtime").text
    assert 'id="nodes"' in runtime_page
    assert "NotReady" in runtime_page
    assert "private pool · pci" in runtime_page
    assert token not in runtime_page
    assert token not in page
    entry = client.get(f"/api/v1/audit/entries/{kill['phases'][0]['index']}").json()
    assert (entry["kind"], entry["subject"]) == ("chaos.inject", "replica:payments/0")

    # A simulated full disk: the condition is on the Runtime page, and lifting it closes its incident.
    local.controller.chaos_disk_full("p1", actor="cli:test")
    assert client.get("/api/v1/runtime/status").json()["nodes"]["p1"]["conditions"] == ["DiskPressure"]
    assert '<span class="badge bad">DiskPressure</span>' in client.get("/runtime").text
    local.controller.chaos_disk_full("p1", on=False, actor="cli:test")
    disk = wait_for(lambda: recovered("disk-full"), timeout=10)
    assert [(p["phase"], p["action"]) for p in disk["phases"]] == [
        ("fault", "disk-full"),
        ("detection", "disk-pressure"),
        ("action", "disk-full-clear"),
        ("recovery", "disk-pressure-cleared"),
    ]
