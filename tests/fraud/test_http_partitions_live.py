"""The HTTP partitions for real: scorer processes and the router on loopback, a kill -9 under load.

Each scorer is a ``finpilot fraud scorer`` child process on one SQLite ledger, as ``finpilot up``
runs them (:class:`ScorerFleet`); the payments go through the router with a bearer token.
"""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from finpilot.audit import open_ledger
from finpilot.cli._fraud_fleet import ScorerFleet
from finpilot.console import open_token_store
from finpilot.core import FraudSettings, Settings
from finpilot.fraud import FraudService, HashRing, Partition, partition_dir

pytestmark = pytest.mark.slow


@pytest.fixture
def fleet(tmp_path: Path, tiny_fraud_model: Path) -> Iterator[tuple[ScorerFleet, Settings, str]]:
    settings = Settings(data_dir=tmp_path / "fp", fraud=FraudSettings(model_dir=tiny_fraud_model, scorers=2))
    with open_token_store(settings) as tokens:
        _info, token = tokens.create("payments-service", "operator")
    running = ScorerFleet(settings, scorers=2, hold_s=60)
    running.start()
    try:
        yield running, settings, token
    finally:
        running.stop()


def body(i: int, now: int) -> dict[str, object]:
    return {
        "transaction_id": f"tx-{i}",
        "time": now + i // 50,
        "customer_id": f"cust-{i % 97}",
        "terminal_id": f"term-{i % 31}",
        "amount": 5.0 + (i * 7) % 300,
    }


def decisions(settings: Settings) -> list[dict[str, object]]:
    with open_ledger(settings) as ledger:
        rows = [json.loads(data) for _, data in ledger.store.entries(0, ledger.size)]
    return [row for row in rows if row["kind"] == "fraud.decision"]


def test_a_payment_through_the_router_is_decided_by_its_owner_and_recorded(
    fleet: tuple[ScorerFleet, Settings, str],
) -> None:
    running, settings, token = fleet
    now = int(time.time())
    with httpx.Client(headers={"authorization": f"Bearer {token}"}, timeout=30) as client:
        answer = client.post(running.scoring_url, json=body(1, now))
        assert answer.status_code == 200, answer.text
        assert answer.json()["decision"] in {"approve", "review", "decline", "freeze_account"}
        refused = httpx.post(running.scoring_url, json=body(2, now), timeout=30)
        assert refused.status_code == 401
        bad = client.post(running.scoring_url, json={**body(3, now), "amount": -1})
        assert bad.status_code == 422
        assert bad.json()["field"] == "amount"
        # A scorer asked directly about a customer it does not own refuses before anything changes.
        owner = HashRing(2).owner("cust-4")
        other = running.children[1 - owner]
        misrouted = client.post(f"http://127.0.0.1:{other.port}/api/v1/fraud/scores", json=body(4, now))
        assert misrouted.status_code == 421
        assert misrouted.json()["field"] == "customer_id"
    (entry,) = decisions(settings)
    assert entry["subject"] == "payment:tx-1"
    assert entry["actor"] == "token:payments-service"
    assert entry["evidence"]["caller"]["request"] == "POST /api/v1/fraud/scores"


def test_killing_a_scorer_under_load_loses_no_decision(
    fleet: tuple[ScorerFleet, Settings, str], tiny_fraud_model: Path
) -> None:
    running, settings, token = fleet
    now = int(time.time())
    total, rate = 900, 150.0
    answers: dict[str, int] = {}
    failures: list[str] = []
    lock = threading.Lock()

    def send(worker: int, workers: int) -> None:
        with httpx.Client(headers={"authorization": f"Bearer {token}"}, timeout=60) as client:
            for i in range(worker, total, workers):
                delay = i / rate - (time.monotonic() - start)
                if delay > 0:
                    time.sleep(delay)
                reply = client.post(running.scoring_url, json=body(i, now))
                with lock:
                    if reply.status_code == 200:
                        answers[f"tx-{i}"] = reply.json()["audit_index"]
                    else:
                        failures.append(f"tx-{i}: {reply.status_code} {reply.text}")

    start = time.monotonic()
    threads = [threading.Thread(target=send, args=(w, 8)) for w in range(8)]
    for thread in threads:
        thread.start()
    while len(answers) < total // 3:
        time.sleep(0.01)
    running.kill("scorer-0")
    for thread in threads:
        thread.join(timeout=120)
    assert failures == []
    assert len(answers) == total
    assert running.restarts()["scorer-0"] == 1
    running.stop()  # a clean stop: each scorer snapshots at the ledger's end
    entries = decisions(settings)
    per_payment = Counter(str(e["subject"]).removeprefix("payment:") for e in entries)
    assert set(per_payment) == set(answers)
    assert set(per_payment.values()) == {1}  # exactly one decision entry per payment
    with open_ledger(settings) as ledger:
        for tx, index in answers.items():
            assert json.loads(ledger.entry(index).data)["subject"] == f"payment:{tx}"
        # The restarted scorer's saved state is what its snapshot plus the ledger give: replay the
        # whole ledger into a fresh partition 0 and compare the customers it owns.
        fresh = Partition(FraudService.from_settings(settings.fraud, ledger), HashRing(2), 0)
        fresh.restore()
        saved = Partition(
            FraudService.from_settings(settings.fraud, ledger),
            HashRing(2),
            0,
            partition_dir(settings.data_dir / "fraud", 0),
        )
        saved.restore()
        assert saved.service.scorer.engine.entities == fresh.service.scorer.engine.entities
        assert fresh.stats.own == sum(1 for tx in answers if HashRing(2).owner(f"cust-{int(tx[3:]) % 97}") == 0)
