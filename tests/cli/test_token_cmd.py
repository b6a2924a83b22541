"""``finpilot token``: tokens are shown once, listed without secrets, and every change is audited."""

from __future__ import annotations

import json
from typing import Any

from cli_helpers import Invoke

from finpilot.console._roles import ROLES


def _ledger(invoke: Invoke) -> list[dict[str, Any]]:
    entries: list[dict[str, Any]] = json.loads(invoke("audit", "tail", "-n", "100", "--json").stdout)["entries"]
    return entries


def test_create_list_revoke_are_audited(invoke: Invoke) -> None:
    result = invoke("token", "create", "--role", "operator", "--name", "ci-pipeline")
    assert result.exit_code == 0, result.output
    secret = result.stdout.strip().splitlines()[-1]
    assert secret.startswith("fp_")
    assert "cannot show it again" in result.stderr

    created = json.loads(invoke("token", "create", "--role", "viewer", "--name", "bob", "--json").stdout)
    assert set(created) == {"id", "name", "role", "token"}
    assert created["role"] == "viewer"

    listed = json.loads(invoke("token", "list", "--json").stdout)["tokens"]
    assert [t["name"] for t in listed] == ["ci-pipeline", "bob"]
    assert secret not in json.dumps(listed)
    assert invoke("token", "list").exit_code == 0

    result = invoke("token", "revoke", created["id"])
    assert result.exit_code == 0, result.output
    listed = json.loads(invoke("token", "list", "--json").stdout)["tokens"]
    assert [t["active"] for t in listed] == [True, False]

    records = [e for e in _ledger(invoke) if e["kind"] == "console.token"]
    assert [(e["action"], e["evidence"]["name"]) for e in records] == [
        ("create", "ci-pipeline"),
        ("create", "bob"),
        ("revoke", "bob"),
    ]
    assert records[2]["subject"] == f"token:{created['id']}"
    assert all(e["actor"].startswith("cli:") for e in records)
    everything = json.dumps(_ledger(invoke))
    assert secret not in everything
    assert created["token"] not in everything


def test_bad_role_and_reused_name_exit_2(invoke: Invoke) -> None:
    result = invoke("token", "create", "--role", "boss", "--name", "x")
    assert result.exit_code == 2
    assert "role" in result.stderr
    assert invoke("token", "create", "--role", "admin", "--name", "alice").exit_code == 0
    result = invoke("token", "create", "--role", "admin", "--name", "alice")
    assert result.exit_code == 2
    assert "alice" in result.stderr


def test_revoke_unknown_exits_2(invoke: Invoke) -> None:
    result = invoke("token", "revoke", "deadbeef")
    assert result.exit_code == 2
    assert "deadbeef" in result.stderr


def test_role_help_names_every_role(invoke: Invoke) -> None:
    result = invoke("token", "create", "--help", data=False)
    for role in ROLES:
        assert role in result.stdout
