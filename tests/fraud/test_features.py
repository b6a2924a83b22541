"""Feature values on hand-computed cases."""

from __future__ import annotations

import math

import pytest
from fraud_helpers import DAY, pay
from hypothesis import given, settings
from hypothesis import strategies as st

from finpilot.core import InputError
from finpilot.fraud import BOOK_FEATURES, FEATURE_NAMES, FeatureEngine, Payment


def named(vector: list[float]) -> dict[str, float]:
    assert len(vector) == len(FEATURE_NAMES)
    return dict(zip(FEATURE_NAMES, vector, strict=True))


def test_book_features_are_a_subset() -> None:
    assert set(BOOK_FEATURES) <= set(FEATURE_NAMES)
    assert len(BOOK_FEATURES) == 15


def test_customer_windows_by_hand() -> None:
    engine = FeatureEngine()
    f1 = named(engine.update_and_features(pay(10 * 3600, amount=10.0)))
    assert (f1["cust_nb_tx_1d"], f1["cust_avg_amount_1d"], f1["is_night"], f1["is_weekend"]) == (1, 10.0, 0, 0)
    assert math.isnan(f1["cust_amount_ratio_30d"])
    assert math.isnan(f1["cust_amount_ratio_life"])
    assert math.isnan(f1["cust_secs_since_last"])

    f2 = named(engine.update_and_features(pay(12 * 3600, amount=30.0)))
    assert (f2["cust_nb_tx_1d"], f2["cust_avg_amount_1d"]) == (2, 20.0)
    assert f2["cust_amount_ratio_30d"] == 3.0
    assert f2["cust_amount_z_30d"] == 0.0  # one earlier payment: no spread yet
    assert f2["cust_amount_ratio_life"] == 3.0
    assert f2["cust_nb_large_1d"] == 1  # 3x the customer's own mean counts as large
    assert f2["cust_secs_since_last"] == 7200

    f3 = named(engine.update_and_features(pay(DAY + 3 * 3600, amount=20.0)))
    assert (f3["cust_nb_tx_1d"], f3["cust_nb_tx_7d"], f3["cust_avg_amount_7d"]) == (1, 3, 20.0)
    assert f3["is_night"] == 1
    assert f3["cust_amount_ratio_30d"] == 1.0
    assert f3["cust_amount_z_30d"] == 0.0  # mean 20, std 10
    assert (f3["cust_nb_large_1d"], f3["cust_nb_large_7d"]) == (0, 1)

    f4 = named(engine.update_and_features(pay(3 * DAY + 10 * 3600, amount=20.0)))  # 2018-08-04, a Saturday
    assert f4["is_weekend"] == 1
    assert (f4["cust_nb_tx_7d"], f4["cust_avg_amount_7d"]) == (4, 20.0)

    f5 = named(engine.update_and_features(pay(7 * DAY + 10 * 3600, amount=20.0)))
    assert (f5["cust_nb_tx_1d"], f5["cust_nb_tx_7d"], f5["cust_nb_tx_30d"]) == (1, 3, 5)  # day 0 left the week
    assert f5["cust_nb_large_7d"] == 0


def test_terminal_risk_uses_only_labels_known_seven_days_later() -> None:
    engine = FeatureEngine()
    a = pay(10 * 3600, customer="c1")
    engine.update_and_features(a)
    engine.observe_label(a, True)

    b = named(engine.update_and_features(pay(6 * DAY + 10 * 3600, customer="c2")))
    assert (b["term_risk_delay_1d"], b["term_risk_delay_30d"], b["term_nb_tx_delay_30d"]) == (0.0, 0.0, 0)
    assert b["term_nb_tx_7d"] == 2
    assert math.isnan(b["term_days_since_known_fraud"])

    c = named(engine.update_and_features(pay(7 * DAY + 9 * 3600, customer="c3")))  # an hour before it is known
    assert (c["term_nb_tx_delay_1d"], c["term_risk_delay_1d"], c["term_nb_fraud_delay_30d"]) == (1, 0.0, 0)

    d = named(engine.update_and_features(pay(7 * DAY + 11 * 3600, customer="c4")))
    assert (d["term_nb_tx_delay_1d"], d["term_risk_delay_1d"], d["term_nb_fraud_delay_30d"]) == (1, 1.0, 1)
    assert (d["term_risk_since_known_fraud"], d["term_days_since_known_fraud"]) == (1.0, 7)

    e = named(engine.update_and_features(pay(7 * DAY + 12 * 3600, customer="c1", terminal="t2")))
    assert e["cust_secs_since_known_fraud"] == 7 * DAY + 12 * 3600  # from the start of the fraud's day
    assert e["term_nb_tx_delay_30d"] == 0

    f = named(engine.update_and_features(pay(8 * DAY + 10 * 3600, customer="c5")))
    assert (f["term_nb_tx_delay_1d"], f["term_risk_delay_1d"]) == (0, 0.0)
    assert (f["term_nb_tx_delay_7d"], f["term_risk_delay_7d"]) == (1, 1.0)
    assert (f["term_risk_since_known_fraud"], f["term_days_since_known_fraud"]) == (1.0, 8)


def test_a_label_known_late_lands_in_an_old_window() -> None:
    engine = FeatureEngine()
    a = pay(10 * 3600)
    engine.update_and_features(a)
    engine.observe_label(a, True, known_at=a.time + 10 * DAY + 3600)  # a chargeback 10 days later
    before = named(engine.update_and_features(pay(10 * DAY + 10 * 3600, customer="c2")))
    after = named(engine.update_and_features(pay(10 * DAY + 12 * 3600, customer="c3")))
    assert before["term_risk_delay_7d"] == 0.0
    assert after["term_risk_delay_7d"] == 1.0


def test_payments_out_of_time_order_are_refused() -> None:
    engine = FeatureEngine()
    engine.update_and_features(pay(3600))
    with pytest.raises(InputError) as info:
        engine.update_and_features(pay(60))
    assert info.value.field == "time"


def test_payment_day() -> None:
    assert Payment("x", 86_400 * 3 + 5, "c", "t", 1.0).day == 3


def test_terminal_label_features_count_labels_not_days() -> None:
    engine = FeatureEngine()
    labels = [False, True, True]  # one genuine payment, then two frauds on days 1 and 2
    for day, fraud in enumerate(labels):
        p = pay(day * DAY + 10 * 3600, customer=f"c{day}")
        engine.update_and_features(p)
        engine.observe_label(p, fraud)

    x1 = pay(6 * DAY + 12 * 3600, customer="x1")
    early = named(engine.update_and_features(x1))
    engine.observe_label(x1, False)
    assert math.isnan(early["term_last_label_fraud"])  # nothing known yet
    assert math.isnan(early["term_fraud_share_last_10"])
    assert early["term_known_fraud_run"] == 0
    assert math.isnan(early["term_fraud_run_age_days"])
    assert math.isnan(early["term_genuine_since_known_fraud"])

    one = named(engine.update_and_features(pay(8 * DAY + 12 * 3600, customer="x2")))  # days 0 and 1 known
    assert (one["term_last_label_fraud"], one["term_fraud_share_last_10"]) == (1.0, 0.5)
    assert (one["term_known_fraud_run"], one["term_fraud_run_age_days"]) == (1, 7)
    assert one["term_genuine_since_known_fraud"] == 0

    two = named(engine.update_and_features(pay(9 * DAY + 12 * 3600, customer="x3")))  # day 2's fraud known too
    assert two["term_fraud_share_last_10"] == 2 / 3
    assert (two["term_known_fraud_run"], two["term_fraud_run_age_days"]) == (2, 8)  # the run began on day 1

    # x1's genuine label becomes known: the run ends and the clean count starts.
    three = named(engine.update_and_features(pay(14 * DAY + 13 * 3600, customer="x4")))
    assert (three["term_last_label_fraud"], three["term_known_fraud_run"]) == (0.0, 0)
    assert math.isnan(three["term_fraud_run_age_days"])
    assert three["term_genuine_since_known_fraud"] == 1


@settings(max_examples=60, deadline=None)
@given(st.lists(st.booleans(), min_size=1, max_size=40), st.integers(min_value=0, max_value=60))
def test_terminal_label_features_match_a_recount(labels: list[bool], query_hours: int) -> None:
    engine = FeatureEngine()
    for i, fraud in enumerate(labels):  # one payment every 6 hours on the same terminal
        p = pay(i * 6 * 3600, customer=f"c{i}")
        engine.update_and_features(p)
        engine.observe_label(p, fraud)
    now = (len(labels) - 1) * 6 * 3600 + query_hours * 3600 + 1
    got = named(engine.update_and_features(pay(now, customer="q")))
    known = [f for i, f in enumerate(labels) if i * 6 * 3600 + 7 * DAY <= now]
    if not known:
        assert math.isnan(got["term_last_label_fraud"])
        assert got["term_known_fraud_run"] == 0
        return
    last10 = known[-10:]
    assert got["term_last_label_fraud"] == float(known[-1])
    assert got["term_fraud_share_last_10"] == sum(last10) / len(last10)
    run = len(known) - max((i + 1 for i, f in enumerate(known) if not f), default=0)
    assert got["term_known_fraud_run"] == run
    frauds = [i for i, f in enumerate(known) if f]
    if frauds:
        assert got["term_genuine_since_known_fraud"] == len(known) - 1 - frauds[-1]
    else:
        assert math.isnan(got["term_genuine_since_known_fraud"])
