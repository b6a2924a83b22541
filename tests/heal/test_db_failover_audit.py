"""Acceptance 4, "and in the audit log": the finpilot audit ledger on the HA pair survives a failover.

The payments service writes through the pair's multi-host DSN and decides every authorization
in-process with a :class:`~finpilot.fraud.FraudService` whose ledger is finpilot's PostgreSQL
ledger on the same pair (schema ``audit``). A decision's ``fraud.decision`` entry is committed
(synchronously replicated) before the payment's own transaction starts, so before any answer.
The healer audits into a SQLite ledger of its own: its fence and promote entries must be
writable while no PostgreSQL server is, which a ledger on the pair it heals could not be.
No skip: missing PostgreSQL binaries fail.
"""

from __future__ import annotations

import contextlib
import json
import random
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from db_helpers import free_ports, pg_reachable_dir
from finpilot_payments import CallableDecider, PaymentsService
from finpilot_payments import StorageError as PaymentsStorageError
from finpilot_payments._postgres import PostgresDatabase
from heal_helpers import wait_for

from finpilot.audit import Entry, Ledger, open_ledger
from finpilot.core import AuditSettings, DbHaSettings, NotFoundError, Settings, StorageSettings, luhn_test_card
from finpilot.core import StorageError as FinpilotStorageError
from finpilot.fraud import (
    DecisionPolicy,
    FeatureEngine,
    FraudService,
    Scorer,
    Thresholds,
    load_artifact,
    payments_decider,
)
from finpilot.heal import DbHealer, PgCluster
from finpilot.heal._db._failover import kill_primary

WORKERS = 2
CARDS = 4
ACKED_BEFORE_KILL = 20
ACKED_AFTER_REJOIN = 20


@pytest.fixture
def pair() -> Iterator[PgCluster]:
    """A fresh synchronous pair on free ports (initdb + pg_basebackup), stopped afterwards."""
    with pg_reachable_dir() as base:
        primary, standby = free_ports(2)
        ha = DbHaSettings(
            base_dir=base / "pair",
            primary_port=primary,
            standby_port=standby,
            check_interval_s=0.2,
            failure_threshold=3,
        )
        cluster = PgCluster(ha, base / "pair")
        try:
            cluster.init()
            yield cluster
        finally:
            if cluster.initialised:
                cluster.stop()


def _audit_settings(data_dir: Path, dsn: str) -> Settings:
    # No periodic checkpoint: a test that holds a commit open must know which transaction it holds.
    return Settings(
        data_dir=data_dir,
        storage=StorageSettings(dsn=dsn, schema_name="audit"),
        audit=AuditSettings(checkpoint_interval_s=3600),
    )


@dataclass
class Authorizations:
    """Card authorizations with idempotency keys; each is resent with its key until it is answered."""

    service: PaymentsService
    db: PostgresDatabase
    merchant: str
    cards: list[str]
    acked: dict[str, tuple[str, int]] = field(default_factory=dict)  # key -> (authorization id, status)
    ack_times: list[tuple[float, int]] = field(default_factory=list)
    failures: int = 0
    stop: threading.Event = field(default_factory=threading.Event)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def run(self, worker: int) -> None:
        """Authorize until :attr:`stop` is set."""
        n = 0
        while not self.stop.is_set():
            key, n = f"auth-{worker}-{n}", n + 1
            request = {
                "card_token": self.cards[n % len(self.cards)],
                "merchant_id": self.merchant,
                "amount": 500 + (n * 37) % 4000,
                "currency": "EUR",
            }
            while True:
                try:
                    outcome = self.service.authorize(key, request)
                except (PaymentsStorageError, FinpilotStorageError):
                    # Failed or unknown, in the payments database or the audit ledger: resend the key.
                    with self._lock:
                        self.failures += 1
                    time.sleep(0.02)
                    continue
                assert outcome.status in (201, 402), outcome
                with self._lock:
                    self.acked[key] = (outcome.body["id"], outcome.status)
                    self.ack_times.append((time.monotonic(), self.db.reconnects))
                break

    def resumed_after(self, killed_at: float) -> float | None:
        """Seconds from ``killed_at`` to the first answer on a new payments connection."""
        later = [t for t, reconnects in self.ack_times if reconnects > 0 and t > killed_at]
        return min(later) - killed_at if later else None


def _decisions(ledger: Ledger) -> dict[str, list[int]]:
    """``fraud.decision`` entries by subject (``payment:<authorization id>``) -> their indices."""
    out: dict[str, list[int]] = {}
    for index, data in ledger.store.iter_entries():
        fields = json.loads(data)
        if fields["kind"] == "fraud.decision":
            out.setdefault(fields["subject"], []).append(index)
    return out


@pytest.mark.postgres
@pytest.mark.slow
def test_failover_keeps_every_acked_payment_and_its_decision(
    pair: PgCluster, tmp_path: Path, tiny_fraud_model: Path
) -> None:
    cluster = pair
    dsn = cluster.dsn()
    audit = _audit_settings(tmp_path / "audit", dsn)
    with open_ledger(audit) as ledger, open_ledger(Settings(data_dir=tmp_path / "healer")) as healer_ledger:
        fraud = FraudService(
            Scorer(FeatureEngine(), load_artifact(tiny_fraud_model)),
            DecisionPolicy(Thresholds(review=0.5, decline=0.8, freeze=2.0)),  # no freezes: every payment is decided
            ledger,
        )
        decide = payments_decider(fraud)
        not_durable: list[str] = []

        def decide_and_check(context: Any) -> Any:
            decision = decide(context)
            # Read back on this worker's own connection (never the ledger writer's), so only a
            # committed entry is seen: the decision must be durable before the payment's
            # transaction even opens, let alone before the answer.
            subject = None
            if decision.audit_index is not None:
                with contextlib.suppress(NotFoundError):
                    subject = ledger.entry(decision.audit_index).fields["subject"]
            if subject != f"payment:{context.payment_id}":
                not_durable.append(context.payment_id)
            return decision

        db = PostgresDatabase(dsn, "payments")
        service = PaymentsService(db, CallableDecider(decide_and_check))
        merchant = service.create_account("m", {"kind": "merchant", "currency": "EUR", "overdraft_limit": 0})
        rng = random.Random(4)
        cards = []
        for i in range(CARDS):
            account = service.create_account(
                f"a{i}", {"kind": "customer", "currency": "EUR", "overdraft_limit": 10**12}
            )
            card = service.add_card(f"k{i}", {"account_id": account.body["id"], "pan": luhn_test_card(rng)})
            cards.append(card.body["token"])
        traffic = Authorizations(service, db, merchant.body["id"], cards)
        store: Any = ledger.store
        with DbHealer(cluster, healer_ledger) as healer:
            workers = [threading.Thread(target=traffic.run, args=(w,), daemon=True) for w in range(WORKERS)]
            for worker in workers:
                worker.start()
            wait_for(lambda: len(traffic.acked) >= ACKED_BEFORE_KILL, timeout=30)  # authorizations are flowing
            before = len(traffic.acked)
            old_primary = cluster.primary().name
            kill_primary(cluster, healer_ledger, actor="chaos:test")
            killed_at = time.monotonic()

            def rejoined() -> bool:
                # The old primary is back as the synchronous standby (the healer's last step).
                if not (healer.failovers and healer.failovers[0].rejoin) or cluster.fenced():
                    return False
                rows = cluster.replication(cluster.primary())
                return [(r["name"], r["state"], r["sync_state"]) for r in rows] == [(old_primary, "streaming", "sync")]

            wait_for(rejoined, timeout=60, step=0.1)
            rebuilt = len(traffic.acked)
            wait_for(lambda: len(traffic.acked) >= rebuilt + ACKED_AFTER_REJOIN, timeout=30)  # on the rebuilt pair
            traffic.stop.set()
            for worker in workers:
                worker.join(timeout=30)
                assert not worker.is_alive()
        db.close()
        healer_kinds = [e.fields["kind"] for e in healer_ledger.tail(200)]

    new_primary = cluster.primary()
    assert new_primary.name != old_primary
    resume_s = traffic.resumed_after(killed_at)
    assert resume_s is not None, "no payment was acknowledged after the failover"
    # A sanity bound for a loaded 2-core machine (~1.5 s measured); the < 5 s target is measured by
    # bench/heal/bench_drill.py (db_writes_resumed_p95).
    assert resume_s < 15, f"writes resumed after {resume_s:.2f} s"
    assert not not_durable, f"decisions not committed before the payment went on: {not_durable[:5]}"
    assert store.reconnects >= 1, "the audit ledger never lost its connection: it did not ride a failover"
    assert "db.failover" in healer_kinds, healer_kinds
    assert "db.rejoin" in healer_kinds, healer_kinds

    # Every acknowledged payment is on the new primary, with the decision it was answered with.
    rows = cluster.sql(new_primary, "SELECT id, decision FROM payments.authorizations")
    recorded = {r[0]: json.loads(r[1]) for r in rows}
    acked = {auth_id for auth_id, _status in traffic.acked.values()}
    assert acked <= set(recorded), f"lost: {sorted(acked - set(recorded))[:5]}"
    assert len(recorded) == len(acked), "an authorization was recorded that no answered request accounts for"

    # ... and in the audit log read back fresh from the new primary: its own decision entry, once.
    with open_ledger(audit) as fresh:
        decisions = _decisions(fresh)
        for auth_id in acked:
            indices = decisions.get(f"payment:{auth_id}")
            assert indices is not None, f"payment {auth_id} has no fraud.decision entry"
            assert indices == [recorded[auth_id]["audit_index"]], (auth_id, indices)
        duplicated = {s: i for s, i in decisions.items() if len(i) > 1}
        assert not duplicated, f"decision entries written twice: {list(duplicated.items())[:3]}"
        report = fresh.verify()
        assert report.ok, report.to_json()
        size = fresh.size
    # Decisions of attempts whose payment never committed (answered by a resend instead) remain
    # in the log as what they are: decisions made. They are counted, never matched to a payment.
    orphans = len(decisions) - len(acked)
    assert orphans >= 0
    figures = {
        "acked_before_kill": before,
        "acked_total": len(acked),
        "declined": sum(1 for _i, status in traffic.acked.values() if status == 402),
        "client_retries": traffic.failures,
        "writes_resumed_s": round(resume_s, 3),
        "audit_entries": size,
        "decisions": len(decisions),
        "decisions_without_payment": orphans,
        "audit_reconnects": store.reconnects,
        "audit_replayed": store.replayed,
        "audit_commit_found_landed": store.landed,
        "failover_total_s": healer.failovers[0].total_s,
        "lost": len(acked - set(recorded)),
    }
    print("db failover audit figures:", json.dumps(figures))


def _entry(n: int) -> Entry:
    return Entry(kind="custom.test.append", actor="test", action="append", subject=f"item:{n}", outcome="ok")


@pytest.mark.postgres
def test_a_commit_whose_answer_is_lost_is_found_in_the_log_not_written_again(pair: PgCluster, tmp_path: Path) -> None:
    cluster = pair
    primary, standby = cluster.primary(), cluster.standby()
    with open_ledger(_audit_settings(tmp_path / "audit", cluster.dsn())) as ledger:
        assert ledger.append(_entry(0)) == 0
        # A synchronous standby that never connects: the next COMMIT is durable on the primary
        # and then waits for an acknowledgement that never comes, so its answer can be lost.
        cluster.set_sync(primary, "nobody")
        result: dict[str, Any] = {}

        def append() -> None:
            try:
                result["index"] = ledger.append(_entry(1))
            except Exception as exc:  # handed to the test thread
                result["error"] = exc

        thread = threading.Thread(target=append, daemon=True)
        thread.start()
        waiting: list[tuple[Any, ...]] = []
        deadline = time.monotonic() + 20
        while not waiting and time.monotonic() < deadline:
            waiting = cluster.sql(primary, "SELECT pid FROM pg_stat_activity WHERE wait_event = 'SyncRep'")
            time.sleep(0.05)
        assert len(waiting) == 1, "the append never reached its COMMIT"
        cluster.sql(primary, f"SELECT pg_terminate_backend({int(waiting[0][0])})")
        thread.join(timeout=30)
        assert not thread.is_alive()
        cluster.set_sync(primary, standby.name)
        assert result == {"index": 1}, result
        store: Any = ledger.store
        assert (store.landed, store.replayed) == (1, 0)
        assert store.reconnects >= 1
        assert ledger.append(_entry(2)) == 2
        assert [e.fields["subject"] for e in ledger.tail(10)] == ["item:2", "item:1", "item:0"]
        report = ledger.verify()
        assert report.ok, report.to_json()
