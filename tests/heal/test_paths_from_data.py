"""Security finding 3, the same class elsewhere: names from data never steer a write outside its directory."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from finpilot.audit import Entry
from finpilot.core import InputError
from finpilot.heal._k8s._render import write_manifests
from finpilot.heal._runbook._actions import ActionRequest, run_action


def test_k8s_render_refuses_a_group_outside_its_directory(tmp_path: Path) -> None:
    out = tmp_path / "render" / "deep"
    with pytest.raises(InputError) as caught:
        write_manifests({"../../escaped": [{"kind": "Namespace"}]}, out)
    assert caught.value.field == "runtime.services"
    assert not (tmp_path / "escaped.yaml").exists()


def test_runbook_log_stays_in_the_log_directory(tmp_path: Path) -> None:
    logs = tmp_path / "state" / "logs"
    handler = run_action(log_dir=logs)
    trigger = Entry(kind="custom.test", actor="t", action="a", subject="s", outcome="ok")
    request = ActionRequest(
        runbook="x/../../../escaped",
        action="run",
        params={"argv": [sys.executable, "-c", "print('hello')"]},
        trigger=trigger,
        actor="runbook:test",
    )
    with pytest.raises(InputError) as caught:
        handler(request)
    assert caught.value.field == "runbook"
    assert not list(tmp_path.glob("escaped*"))
