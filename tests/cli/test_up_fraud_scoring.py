"""``finpilot up`` (plain demo defaults) prints ``fraud scoring: URL``: a POST there is decided by a
scorer process behind the router and recorded; a label and a freeze posted at the console reach it."""

from __future__ import annotations

import json
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import pytest
from up_process import running_up

from finpilot.audit import open_ledger
from finpilot.core import demo_settings
from finpilot.fraud import HashRing

pytestmark = pytest.mark.slow


def test_up_prints_the_fraud_scoring_url_and_the_scorers_decide_there(tmp_path: Path) -> None:
    with running_up(tmp_path, "--traffic-rate", "0") as up:
        assert up.fraud_scoring.endswith("/api/v1/fraud/scores")
        assert not up.fraud_scoring.startswith(up.console)  # the router, not the console
        headers = {"authorization": f"Bearer {up.admin_token}"}
        now = int(time.time())
        body = {"transaction_id": "up-1", "time": now, "customer_id": "cust-up", "terminal_id": "t1", "amount": 25.0}
        with httpx.Client(headers=headers, timeout=60) as client:
            answer = client.post(up.fraud_scoring, json=body)
            assert answer.status_code == 200, answer.text
            index = answer.json()["audit_index"]
            # The console mirrors the scorers' decisions: a label for up-1 is taken there.
            deadline = time.monotonic() + 10
            while True:
                verdict = {"transaction_id": "up-1", "fraud": True, "source": "analyst"}
                label = client.post(f"{up.console}/api/v1/fraud/labels", json=verdict)
                if label.status_code == 202 or time.monotonic() > deadline:
                    break
                time.sleep(0.1)
            assert label.status_code == 202, label.text
            frozen = client.post(f"{up.console}/api/v1/fraud/accounts/cust-up/freeze", json={"reason": "test"})
            assert frozen.status_code == 200, frozen.text
            time.sleep(0.5)  # the owner reads the ledger every 25 ms
            after = client.post(up.fraud_scoring, json={**body, "transaction_id": "up-2", "time": now + 1})
            assert after.json()["decision"] == "decline"  # the freeze reached the owner
    assert up.returncode == 0
    settings = demo_settings().model_copy(update={"data_dir": up.data_dir})
    with open_ledger(settings) as ledger:
        entry = json.loads(ledger.entry(index).data)
    assert entry["kind"] == "fraud.decision"
    assert entry["subject"] == "payment:up-1"
    owner = HashRing(settings.fraud.scorers).owner("cust-up")
    assert (up.data_dir / "fraud" / f"partition-{owner}" / "partition.json").is_file()  # snapshotted at stop


def test_the_fraud_page_counts_the_scorers_decisions_once(tmp_path: Path) -> None:
    """Payments decided by the scorer processes show on the console's Fraud page, each once, and
    so does one the console decides itself."""
    with running_up(tmp_path, "--traffic-rate", "0") as up:
        headers = {"authorization": f"Bearer {up.admin_token}"}
        now = int(time.time())
        sent: Counter[str] = Counter()
        with httpx.Client(headers=headers, timeout=60) as client:
            for i in range(12):
                body = {
                    "transaction_id": f"page-{i}",
                    "time": now + i,
                    "customer_id": f"cust-{i % 5}",
                    "terminal_id": f"t{i % 3}",
                    "amount": 5.0 * 3**i,  # small to huge: more than one action
                }
                answer = client.post(up.fraud_scoring, json=body)
                assert answer.status_code == 200, answer.text
                sent[answer.json()["decision"]] += 1
            own = {"transaction_id": "page-console", "time": now, "customer_id": "cust-c", "terminal_id": "t1"}
            answer = client.post(f"{up.console}/api/v1/fraud/scores", json={**own, "amount": 10.0})
            assert answer.status_code == 200, answer.text
            sent[answer.json()["decision"]] += 1

            def stats() -> dict[str, Any]:
                summary = client.get(f"{up.console}/api/v1/fraud/summary")
                assert summary.status_code == 200, summary.text
                return dict(summary.json()["stats"])

            deadline = time.monotonic() + 10
            while stats()["decisions"] < 13 and time.monotonic() < deadline:
                time.sleep(0.1)
            time.sleep(0.5)  # twenty more tail rounds: nothing may be counted twice
            seen = stats()
    assert seen["decisions"] == 13
    assert {action: n for action, n in seen["by_action"].items() if n} == dict(sent)
    assert sum(m["decisions"] for m in seen["model_versions"]) == 13
