"""A restart loses nothing: features and frozen accounts come back; freezes reach the payments service."""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from pathlib import Path

import pytest
from finpilot_payments import CallableDecider, PaymentsSettings, create_app
from live_helpers import PAYMENTS_TOKEN, PaymentsClient, serve_in_thread, token_file

from finpilot.audit import Entry, Ledger, open_ledger
from finpilot.core import Settings, luhn_test_card
from finpilot.fraud import (
    AccountSync,
    DecisionPolicy,
    FeatureEngine,
    FraudService,
    HttpAccountSync,
    Payment,
    Scorer,
    Thresholds,
    iter_payments,
    load_artifact,
    load_state,
    payments_decider,
    save_state,
)
from finpilot.fraud._serving._persist import ACCOUNTS_FILE

T0 = 1_700_000_000
POLICY = DecisionPolicy(Thresholds(review=0.5, decline=0.8, freeze=1.0))


@pytest.fixture
def ledger(tmp_path: Path) -> Iterator[Ledger]:
    """The audit ledger."""
    with open_ledger(Settings(data_dir=tmp_path / "fp")) as opened:
        yield opened


def service(ledger: Ledger, model: Path) -> FraudService:
    """A fresh fraud service (as at start-up) over ``ledger``."""
    return FraudService(Scorer(FeatureEngine(), load_artifact(model)), POLICY, ledger)


def stream(n: int, start: int = 0) -> list[Payment]:
    """``n`` generated payments with live-like times from T0."""
    out = []
    for p in iter_payments(customers=30, terminals=60, days=None, seed=5):
        if p.tx_id < start:
            continue
        if len(out) == n:
            break
        out.append(Payment(f"tx{p.tx_id}", T0 + p.seconds, f"c{p.customer}", f"t{p.terminal}", p.amount))
    return out


def test_a_restart_keeps_the_features_and_the_frozen_accounts(
    ledger: Ledger, tiny_fraud_model: Path, tmp_path: Path
) -> None:
    state = tmp_path / "state"
    before, after = stream(300), stream(50, start=300)
    running = service(ledger, tiny_fraud_model)
    for p in before:
        running.score(p)
    running.freeze_account("c1", reason="analyst")
    running.freeze_account("c2", reason="analyst")
    running.unfreeze_account("c2", reason="analyst")
    save_state(running, state)

    restarted = service(ledger, tiny_fraud_model)
    restored = load_state(restarted, state)
    assert restored.features_restored
    assert (restored.frozen, restored.entries_read) == (1, 0)  # nothing appended since the save
    assert restarted.is_frozen("c1")
    assert not restarted.is_frozen("c2")
    # The restarted engine scores the next payments exactly as the uninterrupted one does.
    for p in after:
        assert restarted.scorer.score_one(p).score == running.scorer.score_one(p).score


def test_freezes_after_the_last_save_are_replayed_from_the_ledger(
    ledger: Ledger, tiny_fraud_model: Path, tmp_path: Path
) -> None:
    state = tmp_path / "state"
    running = service(ledger, tiny_fraud_model)
    running.freeze_account("c1")
    save_state(running, state)
    saved_at = json.loads((state / ACCOUNTS_FILE).read_text())["ledger_size"]
    running.freeze_account("c7")  # then a crash: no save
    running.unfreeze_account("c1")

    restarted = service(ledger, tiny_fraud_model)
    restored = load_state(restarted, state)
    assert restored.entries_read == ledger.size - saved_at
    assert restarted.is_frozen("c7")
    assert not restarted.is_frozen("c1")

    # Without any saved state (first start after an upgrade), the whole ledger is read.
    fresh = service(ledger, tiny_fraud_model)
    found = load_state(fresh, tmp_path / "nothing-here")
    assert (found.features_restored, found.frozen, found.entries_read) == (False, 1, ledger.size)
    assert fresh.is_frozen("c7")


@pytest.mark.parametrize(
    ("kind", "actor"),
    [
        ("fraud.account", "finpilot:fraud"),  # the reviewer's forgery (finding 5 of issue 10)
        ("fraud.account", "pipeline:main"),
        ("fraud.account", "anonymous"),
    ],
)
def test_the_replay_ignores_a_freeze_finpilot_did_not_write(
    ledger: Ledger, tiny_fraud_model: Path, tmp_path: Path, kind: str, actor: str
) -> None:
    running = service(ledger, tiny_fraud_model)
    running.freeze_account("c1", reason="analyst")
    # Written past every gate, as an older finpilot's API stored whatever it was sent.
    forged = {"customer_id": "c2", "reason": "forged"}
    ledger.append(Entry(kind, actor, "freeze", "account:c2", "ok", forged, system=True))
    ledger.append(Entry(kind, actor, "unfreeze", "account:c1", "ok", {**forged, "customer_id": "c1"}, system=True))

    restarted = service(ledger, tiny_fraud_model)
    restored = load_state(restarted, tmp_path / "no-saved-state")
    assert (restored.frozen, restored.entries_read) == (1, ledger.size)
    assert restarted.is_frozen("c1")
    assert not restarted.is_frozen("c2")


def test_a_frozen_account_cannot_pay_on_the_payments_side(
    ledger: Ledger, tiny_fraud_model: Path, tmp_path: Path
) -> None:
    fraud = service(ledger, tiny_fraud_model)
    app = create_app(
        PaymentsSettings(data_dir=tmp_path / "payments", bootstrap_token=PAYMENTS_TOKEN),
        decider=CallableDecider(payments_decider(fraud)),  # type: ignore[arg-type]
    )
    with serve_in_thread(app) as url:
        sync = HttpAccountSync(url, token=token_file(tmp_path / "secrets"))
        fraud.add_observer(AccountSync(sync))
        payments = PaymentsClient(url)
        try:
            account, card, merchant = payments.customer_with_card(luhn_test_card(random.Random(21)))
            assert payments.authorize(card, merchant, 1_000).status_code in {201, 402}
            fraud.freeze_account(account, actor="analyst:ann", reason="confirmed fraud")
            assert payments.http.get(f"/v1/accounts/{account}").json()["frozen"] is True
            refused = payments.authorize(card, merchant, 1_000)
            assert refused.status_code == 403, refused.text
            assert refused.json()["field"] == "card_token"
            fraud.unfreeze_account(account, actor="analyst:ann", reason="cleared")
            assert payments.http.get(f"/v1/accounts/{account}").json()["frozen"] is False
            # A freeze of an id the payments service does not know changes nothing there.
            fraud.freeze_account("someone-else")
            assert payments.http.get("/v1/ledger/check").json()["balanced"]
        finally:
            payments.close()
            sync.close()


def test_a_freezing_decision_in_process_freezes_the_payments_account(
    ledger: Ledger, tiny_fraud_model: Path, tmp_path: Path
) -> None:
    fraud = FraudService(
        Scorer(FeatureEngine(), load_artifact(tiny_fraud_model)), DecisionPolicy(Thresholds(0, 0, 0)), ledger
    )
    app = create_app(
        PaymentsSettings(data_dir=tmp_path / "payments", bootstrap_token=PAYMENTS_TOKEN),
        decider=CallableDecider(payments_decider(fraud)),  # type: ignore[arg-type]
    )
    with serve_in_thread(app) as url:
        payments = PaymentsClient(url)
        try:
            account, card, merchant = payments.customer_with_card(luhn_test_card(random.Random(22)))
            declined = payments.authorize(card, merchant, 1_000)
            assert declined.status_code == 402, declined.text  # recorded, although frozen meanwhile
            assert payments.http.get(f"/v1/accounts/{account}").json()["frozen"] is True
            assert payments.authorize(card, merchant, 1_000).status_code == 403
            assert fraud.is_frozen(account)
        finally:
            payments.close()
