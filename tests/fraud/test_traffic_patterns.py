"""The generator's extra fraud patterns: present, labelled fraud, and on top of an unchanged stream."""

from __future__ import annotations

from collections import Counter

import pytest

from finpilot.core import InputError
from finpilot.fraud import PATTERN_SCENARIOS, Patterns, iter_payments

ALL = Patterns(card_testing_per_day=0.5, takeover_per_day=0.5, rings_per_day=0.2, slow_drip_per_day=0.5)


def test_every_pattern_appears_and_is_labelled_fraud() -> None:
    rows = list(iter_payments(customers=100, terminals=200, days=30, seed=4, patterns=ALL))
    by = Counter(p.scenario for p in rows)
    assert set(PATTERN_SCENARIOS) <= set(by)
    assert all(p.fraud for p in rows if p.scenario >= 4)
    testing = [p.amount for p in rows if p.scenario == 4]
    assert sum(a <= 2.0 for a in testing) > len(testing) / 2  # many tiny payments
    assert [p.seconds for p in rows] == sorted(p.seconds for p in rows)
    assert len({p.tx_id for p in rows}) == len(rows)


def test_the_patterns_come_on_top_of_the_same_stream() -> None:
    plain = list(iter_payments(customers=50, terminals=100, days=20, seed=9))
    more = list(iter_payments(customers=50, terminals=100, days=20, seed=9, patterns=ALL))
    key = [(p.seconds, p.customer, p.terminal, p.amount, p.scenario) for p in plain]
    assert [(p.seconds, p.customer, p.terminal, p.amount, p.scenario) for p in more if p.scenario < 4] == key
    assert len(more) > len(plain)
    assert list(iter_payments(customers=50, terminals=100, days=20, seed=9, patterns=Patterns())) == plain


def test_a_ring_keeps_to_its_own_terminals() -> None:
    rows = list(iter_payments(customers=100, terminals=200, days=40, seed=2, patterns=Patterns(rings_per_day=0.1)))
    ring = [p for p in rows if p.scenario == 6]
    assert ring
    assert len({p.terminal for p in ring}) < len({p.customer for p in ring}) * 2


def test_a_negative_rate_is_refused() -> None:
    with pytest.raises(InputError) as info:
        Patterns(takeover_per_day=-1)
    assert info.value.field == "takeover_per_day"
