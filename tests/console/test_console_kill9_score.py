"""kill -9 between the durable append and the answer of ``POST /api/v1/fraud/scores``, and before the append.

The console runs in a child process (``serve_main.py``, restoring state as ``finpilot up`` does)
with ``FINPILOT_TEST_FAULT`` set: the scoring call SIGKILLs its own process at that point, so
the client never gets an answer. After a restart without the fault, the client re-sends the
same payment: the decision is in the ledger exactly once, whichever side of the append the kill fell.
"""

from __future__ import annotations

import signal
from pathlib import Path
from typing import Any

import httpx
import pytest
from console_helpers import bearer, running_server

from finpilot.audit import open_ledger
from finpilot.console import open_token_store
from finpilot.core import Settings

PAYMENT = {
    "transaction_id": "tx-kill-9",
    "time": "2020-09-13T12:26:40Z",
    "customer_id": "cust-9",
    "terminal_id": "term-9",
    "amount": 42.5,
}


def _decisions(settings: Settings) -> list[tuple[int, dict[str, Any]]]:
    with open_ledger(settings) as ledger:
        entries = ledger.tail(min(max(ledger.size, 1), 10_000))
        return sorted((e.index, e.fields) for e in entries if e.fields["kind"] == "fraud.decision")


def _killed_mid_score(
    settings: Settings, work: Path, model: Path, token: str, point: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    work.mkdir()
    with monkeypatch.context() as env:
        env.setenv("FINPILOT_TEST_FAULT", point)
        with running_server(settings.data_dir, work, model_dir=model) as server:
            with (
                httpx.Client(base_url=server.url, headers=bearer(token), timeout=30) as api,
                pytest.raises(httpx.TransportError),  # no answer: the process died mid-call
            ):
                api.post("/api/v1/fraud/scores", json=PAYMENT)
            assert server.process.wait(timeout=30) == -signal.SIGKILL


def _resend(settings: Settings, work: Path, model: Path, token: str, times: int = 2) -> list[dict[str, Any]]:
    work.mkdir()
    answers = []
    with running_server(settings.data_dir, work, model_dir=model) as server:
        with httpx.Client(base_url=server.url, headers=bearer(token), timeout=30) as api:
            for _ in range(times):
                answer = api.post("/api/v1/fraud/scores", json=PAYMENT)
                assert answer.status_code == 200, answer.text
                answers.append(answer.json())
        server.process.kill()
        server.process.wait(timeout=30)
    return answers


def _token(settings: Settings) -> str:
    with open_token_store(settings) as tokens:
        _info, token = tokens.create("scorer", "admin")
    return token


@pytest.mark.slow
def test_kill_9_after_the_durable_append_answers_the_resend_from_the_ledger(
    tmp_path: Path, tiny_fraud_model: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = Settings(data_dir=tmp_path / "data")
    token = _token(settings)
    _killed_mid_score(settings, tmp_path / "first", tiny_fraud_model, token, "after-append", monkeypatch)
    recorded = _decisions(settings)
    assert len(recorded) == 1  # durable before the answer was due
    index, fields = recorded[0]
    assert fields["subject"] == "payment:tx-kill-9"

    answers = _resend(settings, tmp_path / "second", tiny_fraud_model, token)
    for answer in answers:  # the recorded decision, not a second one
        assert answer["audit_index"] == index
        assert answer["decision"] == fields["action"]
        assert answer["score"] == fields["evidence"]["score"]
        assert answer["reasons"] == fields["evidence"]["reasons"]
    assert _decisions(settings) == recorded


@pytest.mark.slow
def test_kill_9_before_the_append_leaves_no_entry_and_the_resend_decides_once(
    tmp_path: Path, tiny_fraud_model: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = Settings(data_dir=tmp_path / "data")
    token = _token(settings)
    _killed_mid_score(settings, tmp_path / "first", tiny_fraud_model, token, "before-append", monkeypatch)
    assert _decisions(settings) == []

    answers = _resend(settings, tmp_path / "second", tiny_fraud_model, token)
    recorded = _decisions(settings)
    assert len(recorded) == 1
    assert [a["audit_index"] for a in answers] == [recorded[0][0]] * 2
    assert answers[0] == answers[1]
