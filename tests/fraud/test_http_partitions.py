"""HTTP partitions: the ring, replication through the ledger, labels and freezes reaching the owner,
restart = snapshot + ledger, and byte-identical predictions whatever the number of scorers."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
from fraud_helpers import DAY, T0, payments
from hypothesis import given, settings
from hypothesis import strategies as st

from finpilot.audit import Ledger, open_ledger
from finpilot.core import InputError, Settings
from finpilot.fraud import FeatureEngine, FraudService, HashRing, Partition, Payment, load_artifact, partition_dir
from finpilot.fraud._csv import PaymentTable
from finpilot.fraud._replay._partitioned import partitioned_scores, score_bytes
from finpilot.fraud._serving._ring import ring_hash


@pytest.fixture
def ledger(tmp_path: Path) -> Ledger:
    with open_ledger(Settings(data_dir=tmp_path / "fp")) as opened:
        yield opened


def service_on(ledger: Ledger, model: Path) -> FraudService:
    from finpilot.core import FraudSettings

    return FraudService.from_settings(FraudSettings(model_dir=model), ledger)


def customers_of(ring: HashRing, member: int, count: int = 3) -> list[str]:
    found = [f"cust{i}" for i in range(1000) if ring.owner(f"cust{i}") == member]
    return found[:count]


# ---------------------------------------------------------------------------------------- the ring
def test_the_ring_is_pinned_across_processes_and_releases() -> None:
    # BLAKE2b, not hash(): the router and every scorer must agree whatever PYTHONHASHSEED says.
    # Pinned: changing the hash or the points would move customers away from their window state.
    assert ring_hash(b"cust1") == 0x08203DF400A51608
    assert [HashRing(4).owner(f"cust{i}") for i in range(12)] == [2, 2, 0, 2, 0, 0, 3, 3, 3, 1, 1, 0]
    assert HashRing(1).owner("anyone") == 0


def test_the_ring_spreads_customers_evenly_and_moves_few_when_it_grows() -> None:
    names = [f"customer-{i}" for i in range(20_000)]
    four = Counter(HashRing(4).owner(n) for n in names)
    assert set(four) == {0, 1, 2, 3}
    assert all(0.15 < count / len(names) < 0.35 for count in four.values())
    three, grown = HashRing(3), HashRing(4)
    moved = sum(three.owner(n) != grown.owner(n) for n in names)
    assert moved / len(names) < 0.4  # about 1/4 move; a modulo hash would move 3/4


@settings(max_examples=200, deadline=None)
@given(st.text(min_size=1, max_size=40), st.integers(min_value=1, max_value=8))
def test_every_customer_has_exactly_one_owner_on_the_ring(customer: str, members: int) -> None:
    owner = HashRing(members).owner(customer)
    assert 0 <= owner < members
    assert HashRing(members).owner(customer) == owner


def test_a_ring_of_no_scorers_is_refused_naming_the_setting() -> None:
    with pytest.raises(InputError) as err:
        HashRing(0)
    assert err.value.field == "fraud.scorers"


# ------------------------------------------------------------------ byte-identical for N = 1, 2, 4
def test_predictions_are_byte_identical_for_one_two_and_four_scorers(
    stream_table: PaymentTable, tiny_fraud_model: Path
) -> None:
    artifact = load_artifact(tiny_fraud_model)
    rows = payments(stream_table)[:3000]
    labels = [bool(x) for x in stream_table.frauds[:3000]]
    baseline = score_bytes(partitioned_scores(artifact, rows, 1, labels))
    # The owners' scores come out in stream order whatever N, so the bytes line up one to one.
    for members in (2, 4):
        assert score_bytes(partitioned_scores(artifact, rows, members, labels)) == baseline
    # ...and the terminal windows need observe_elsewhere: without it N = 4 would differ.
    ring = HashRing(4)
    engines = [FeatureEngine() for _ in range(4)]
    alone = []
    reference = FeatureEngine()
    expected = []
    for p in rows[:800]:
        expected.append(reference.update_and_features(p))
        alone.append(engines[ring.owner(p.customer)].update_and_features(p))
    assert expected != alone


# ------------------------------------------------------------------- replication through the ledger
def pay(i: int, customer: str, terminal: str = "t1", amount: float = 20.0) -> Payment:
    return Payment(f"tx{i}", T0 + i * 60, customer, terminal, amount)


def test_each_scorer_counts_the_others_payments_in_its_terminal_windows(ledger: Ledger, tiny_fraud_model: Path) -> None:
    ring = HashRing(2)
    a, b = (Partition(service_on(ledger, tiny_fraud_model), ring, i) for i in (0, 1))
    (c0,), (c1,) = customers_of(ring, 0, 1), customers_of(ring, 1, 1)
    single = service_on(ledger, tiny_fraud_model)  # one scorer seeing everything, for comparison
    expected = []
    for i, customer in enumerate([c0, c1, c1, c0, c1, c0]):
        owner = a if ring.owner(customer) == 0 else b
        decision, _ = owner.service.score(pay(i, customer))
        expected.append(single.scorer.score_one(pay(i, customer)).score)
        assert decision.score == round(expected[-1], 6)
        a.catch_up()
        b.catch_up()
    assert (a.stats.elsewhere, b.stats.elsewhere) == (3, 3)
    # The terminal's windows in both scorers saw all six payments.
    assert a.service.scorer.engine.entities == (1, 1)
    assert b.service.scorer.engine.entities == (1, 1)


def test_another_scorers_older_decision_is_counted_at_the_stream_time(ledger: Ledger, tiny_fraud_model: Path) -> None:
    # Live, scorer 1 can decide a payment just before scorer 0 decides a later one; scorer 0's
    # tail then meets the older decision. It must count it, not stop the tail on "older than".
    ring = HashRing(2)
    a, b = (Partition(service_on(ledger, tiny_fraud_model), ring, i) for i in (0, 1))
    (c0,), (c1,) = customers_of(ring, 0, 1), customers_of(ring, 1, 1)
    b.service.score(pay(1, c1))
    a.service.score(pay(5, c0))
    assert a.catch_up() == 2
    assert a.stats.elsewhere == 1
    assert a.service.scorer.engine.now == T0 + 5 * 60
    # The terminal saw both payments: the next payment there counts two earlier ones today.
    vector = a.service.scorer.engine.update_and_features(pay(6, c0))
    from finpilot.fraud import FEATURE_NAMES

    assert vector[FEATURE_NAMES.index("term_nb_tx_1d")] == 3.0


def test_a_label_and_a_freeze_posted_at_the_console_reach_the_owner(ledger: Ledger, tiny_fraud_model: Path) -> None:
    ring = HashRing(2)
    owner, other = (
        Partition(service_on(ledger, tiny_fraud_model), ring, 1),
        Partition(service_on(ledger, tiny_fraud_model), ring, 0),
    )
    console = Partition(service_on(ledger, tiny_fraud_model), ring, None)  # the console's mirror
    (customer,) = customers_of(ring, 1, 1)
    owner.service.score(pay(1, customer))
    for p in (owner, other, console):
        p.catch_up()
    console.service.label("tx1", True, "chargeback", T0 + DAY)  # the console never scored tx1
    console.service.freeze_account(customer, actor="token:ops", reason="analyst")
    for p in (owner, other):
        p.catch_up()
    assert owner.service.scorer.engine.pending_labels == 1
    assert other.service.scorer.engine.pending_labels == 1  # terminal windows learn everywhere
    assert owner.service.is_frozen(customer)
    assert not other.service.is_frozen(customer)
    decision, _ = owner.service.score(pay(2, customer))
    assert decision.action == "decline"


def test_a_freeze_by_a_scorer_reaches_the_consoles_observers(ledger: Ledger, tiny_fraud_model: Path) -> None:
    ring = HashRing(2)
    scorer = Partition(service_on(ledger, tiny_fraud_model), ring, 0)
    console = Partition(service_on(ledger, tiny_fraud_model), ring, None)
    heard: list[tuple[str, str]] = []

    class Sync:
        def on_decision(self, *_: object) -> None: ...
        def on_label(self, *_: object) -> None: ...
        def on_account(self, customer: str, action: str, _reason: str, _index: int) -> None:
            heard.append((customer, action))

    console.service.add_observer(Sync())
    (customer,) = customers_of(ring, 0, 1)
    scorer.service.freeze_account(customer, reason="decision on payment:tx9")  # as the policy does
    console.catch_up()
    assert heard == [(customer, "freeze")]
    assert console.service.is_frozen(customer)


def test_a_restarted_scorer_is_its_snapshot_plus_the_ledger(
    ledger: Ledger, tiny_fraud_model: Path, tmp_path: Path
) -> None:
    ring = HashRing(2)
    home = partition_dir(tmp_path / "fraud", 0)
    live = Partition(service_on(ledger, tiny_fraud_model), ring, 0, home)
    other = Partition(service_on(ledger, tiny_fraud_model), ring, 1)
    mine, theirs = customers_of(ring, 0), customers_of(ring, 1)
    answers = {}
    for i in range(40):
        customer = (mine if i % 2 else theirs)[i % 3]
        scorer = live if ring.owner(customer) == 0 else other
        answers[f"tx{i}"] = scorer.service.score(pay(i, customer, terminal=f"t{i % 4}"))
        live.catch_up()
        if i == 15:
            live.save()  # the periodic snapshot; then 24 more payments, and a kill -9 (no save)
    restarted = Partition(service_on(ledger, tiny_fraud_model), ring, 0, home)
    restarted.restore()
    assert restarted.service.scorer.engine.snapshot() == live.service.scorer.engine.snapshot()
    # A payment retried after the crash gets its first decision back, and nothing is written.
    size = ledger.size
    tx = next(f"tx{i}" for i in range(39, 0, -1) if ring.owner((mine if i % 2 else theirs)[i % 3]) == 0)
    i = int(tx[2:])
    again = restarted.service.score(pay(i, (mine if i % 2 else theirs)[i % 3], terminal=f"t{i % 4}"))
    assert again == answers[tx]
    assert ledger.size == size
    # So does one decided before the snapshot, which only the ledger still holds.
    tx = next(f"tx{i}" for i in range(15) if ring.owner((mine if i % 2 else theirs)[i % 3]) == 0)
    i = int(tx[2:])
    again = restarted.service.score(pay(i, (mine if i % 2 else theirs)[i % 3], terminal=f"t{i % 4}"))
    assert again == answers[tx]
    assert ledger.size == size


def test_a_scorer_restarting_without_a_snapshot_replays_the_whole_ledger(
    ledger: Ledger, tiny_fraud_model: Path
) -> None:
    ring = HashRing(2)
    live = Partition(service_on(ledger, tiny_fraud_model), ring, 1)
    for i, customer in enumerate(customers_of(ring, 1) + customers_of(ring, 0)):
        if ring.owner(customer) == 1:
            live.service.score(pay(i, customer))
        else:
            Partition(service_on(ledger, tiny_fraud_model), ring, 0).service.score(pay(i, customer))
        live.catch_up()
    fresh = Partition(service_on(ledger, tiny_fraud_model), ring, 1)
    fresh.restore()
    assert fresh.service.scorer.engine.snapshot() == live.service.scorer.engine.snapshot()
    assert fresh.stats.own == 3
    assert fresh.stats.elsewhere == 3


def test_a_partition_refuses_an_index_off_the_ring(ledger: Ledger, tiny_fraud_model: Path) -> None:
    with pytest.raises(InputError):
        Partition(service_on(ledger, tiny_fraud_model), HashRing(2), 2)
