"""Security finding 5 of issue 10: system entries cannot be forged over the API.

The reviewer appended a ``fraud.account`` freeze with actor ``finpilot:fraud`` through
``POST /api/v1/audit/entries``; after a ``kill -9`` and a restart, the fraud state replayed it
as real. Now an appended entry is recorded as its token, no kind in a system namespace can be
appended, and the replay reads only what finpilot itself wrote.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
from console_helpers import MakeToken, TestClient, bearer, running_server, sample_entry

from finpilot.audit import Entry, Ledger, open_ledger
from finpilot.console import open_token_store
from finpilot.core import Settings

FORGED = {
    "kind": "fraud.account",
    "actor": "finpilot:fraud",
    "action": "freeze",
    "subject": "account:victim",
    "outcome": "ok",
    "evidence": {"customer_id": "victim", "reason": "forged"},
}


def test_an_appended_entry_is_recorded_as_its_token_and_cannot_name_finpilot(
    client: TestClient, make_token: MakeToken, ledger: Ledger
) -> None:
    token = make_token("operator", "ci-pipeline")
    size = ledger.size
    for body in (
        sample_entry(actor="finpilot:fraud"),
        sample_entry(actor="token:someone-else"),
        {"entries": [sample_entry(), sample_entry(actor="finpilot:fraud")]},
    ):
        refused = client.post("/api/v1/audit/entries", json=body, headers=bearer(token))
        assert refused.status_code == 422, refused.text
        assert refused.json()["field"] in {"actor", "entries[1].actor"}
        assert "token:ci-pipeline" in refused.json()["fix"]
        assert "finpilot:fraud" not in refused.text  # nothing the client sent is echoed
    assert ledger.size == size

    for body in (sample_entry(), sample_entry(actor="token:ci-pipeline")):
        made = client.post("/api/v1/audit/entries", json=body, headers=bearer(token))
        assert made.status_code == 201, made.text
        assert ledger.entry(made.json()["index"]).fields["actor"] == "token:ci-pipeline"


@pytest.mark.parametrize("kind", ["fraud.account", "fraud.account_v2", "heal.restart_v2", "watch.anything"])
def test_no_kind_in_a_system_namespace_can_be_appended(
    kind: str, client: TestClient, make_token: MakeToken, ledger: Ledger
) -> None:
    size = ledger.size
    body = {**FORGED, "kind": kind, "actor": "token:auditor-of-kinds"}
    refused = client.post("/api/v1/audit/entries", json=body, headers=bearer(make_token("admin", "auditor-of-kinds")))
    assert refused.status_code == 422, refused.text
    assert refused.json()["field"] == "kind"
    assert "reserved for finpilot's own writers" in refused.json()["message"]
    assert "custom.*" in refused.json()["fix"]
    assert ledger.size == size


def _score(api: httpx.Client, tx: str, customer: str) -> list[str]:
    body = {"transaction_id": tx, "time": "2020-09-13T12:26:40Z", "customer_id": customer}
    scored = api.post("/api/v1/fraud/scores", json={**body, "terminal_id": "term-4", "amount": 25.5})
    assert scored.status_code == 200, scored.text
    reasons: list[str] = scored.json()["reasons"]
    return reasons


@pytest.mark.slow
def test_a_forged_freeze_is_not_replayed_after_kill_9(tmp_path: Path, tiny_fraud_model: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data")
    with open_token_store(settings) as tokens:
        _info, token = tokens.create("reviewer", "admin")
    # A ledger an older finpilot wrote: it stored the reviewer's API append as it came (the
    # same leaf bytes; system=True only gets it past today's gate, as the old API did).
    with open_ledger(settings) as ledger:
        ledger.append(Entry(**{**FORGED, "subject": "account:old-victim"}, system=True))  # type: ignore[arg-type]

    with running_server(settings.data_dir, _dir(tmp_path / "first"), model_dir=tiny_fraud_model) as server:
        with httpx.Client(base_url=server.url, headers=bearer(token), timeout=30) as api:
            forged = api.post("/api/v1/audit/entries", json=FORGED)
            assert forged.status_code == 422, forged.text
            renamed: dict[str, Any] = {**FORGED, "kind": "custom.fraud.account"}
            assert api.post("/api/v1/audit/entries", json=renamed).status_code == 422  # the actor
            frozen = api.post("/api/v1/fraud/accounts/by-operator/freeze", json={"reason": "card testing"})
            assert frozen.status_code == 200, frozen.text
        server.process.kill()  # kill -9: no clean stop, no saved state
        server.process.wait(timeout=30)

    with running_server(settings.data_dir, _dir(tmp_path / "second"), model_dir=tiny_fraud_model) as server:
        with httpx.Client(base_url=server.url, headers=bearer(token), timeout=30) as api:
            assert "account frozen" not in _score(api, "tx-1", "victim")
            assert "account frozen" not in _score(api, "tx-2", "old-victim")
            assert "account frozen" in _score(api, "tx-3", "by-operator")  # the real freeze survives
        server.process.kill()
        server.process.wait(timeout=30)


def _dir(path: Path) -> Path:
    path.mkdir()
    return path
