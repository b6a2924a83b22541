"""An alert's fingerprint: stable, order-free, and never shaped like a card number."""

from __future__ import annotations

import re

from hypothesis import given
from hypothesis import strategies as st

from finpilot.core import redact_digit_runs
from finpilot.watch import fingerprint

label_sets = st.dictionaries(st.from_regex(r"[a-z_]{1,8}", fullmatch=True), st.text(max_size=20), max_size=5)


@given(labels=label_sets)
def test_a_fingerprint_never_holds_a_digit_run_the_ledger_would_take_for_a_card_number(labels: dict[str, str]) -> None:
    found = fingerprint(labels)
    assert re.fullmatch(r"[a-z2-7]{16}", found)
    assert redact_digit_runs(found) == found


@given(labels=label_sets)
def test_a_fingerprint_does_not_depend_on_label_order(labels: dict[str, str]) -> None:
    assert fingerprint(dict(reversed(list(labels.items())))) == fingerprint(labels)


def test_the_label_set_that_once_looked_like_a_card_number_now_fires() -> None:
    # Its hex fingerprint was 965072556170720d: 15 decimal digits that pass the Luhn check.
    found = fingerprint({"replica": "payments/117"})
    assert redact_digit_runs(found) == found
    assert fingerprint({"replica": "payments/117"}) != fingerprint({"replica": "payments/118"})
