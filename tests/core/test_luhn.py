"""The one test-card generator: every number it makes passes Luhn, with the length and prefix asked for."""

from __future__ import annotations

import random

import pytest
from finpilot_payments import luhn_ok as payments_luhn_ok
from hypothesis import given
from hypothesis import strategies as st

from finpilot.audit._pan import luhn_ok as audit_luhn_ok
from finpilot.core import luhn_check_digit, luhn_ok, luhn_test_card


def reference_luhn_ok(number: str) -> bool:
    # Written from the definition, apart from finpilot's: from the right, double every second digit
    # and sum the digits of the products.
    total = 0
    for position, digit in enumerate(int(c) for c in reversed(number)):
        total += sum(divmod(digit * 2, 10)) if position % 2 else digit
    return total % 10 == 0


def test_known_numbers() -> None:
    assert luhn_check_digit("7992739871") == "3"  # the textbook example 79927398713
    assert luhn_ok("4111111111111111")
    assert not luhn_ok("4111111111111112")


@given(
    seed=st.integers(0, 2**32),
    prefix=st.text("0123456789", min_size=1, max_size=6),
    extra=st.integers(1, 13),
)
def test_every_generated_number_passes_luhn_with_its_length_and_prefix(seed: int, prefix: str, extra: int) -> None:
    length = min(19, len(prefix) + extra)
    number = luhn_test_card(random.Random(seed), length=length, prefix=prefix)
    assert len(number) == length
    assert number.startswith(prefix)
    assert number.isdigit()
    assert reference_luhn_ok(number)
    assert luhn_ok(number)
    assert payments_luhn_ok(number)  # the payments service accepts it


@given(st.text("0123456789", min_size=1, max_size=25))
def test_the_checker_agrees_with_the_definition_and_with_the_payments_copy(number: str) -> None:
    assert luhn_ok(number) == reference_luhn_ok(number) == payments_luhn_ok(number)
    assert audit_luhn_ok is luhn_ok  # the audit PAN scanner uses the same one


def test_the_same_seed_gives_the_same_cards_as_the_generators_it_replaced() -> None:
    # The traffic generator's and the drill's old copy: 14 random digits after "4", then the check digit.
    def old(rng: random.Random) -> str:
        body = "4" + "".join(rng.choice("0123456789") for _ in range(14))
        total = 0
        for i, ch in enumerate(reversed(body)):
            d = int(ch) * (2 if i % 2 == 0 else 1)
            total += d - 9 if d > 9 else d
        return body + str((10 - total % 10) % 10)

    for seed in range(50):
        assert luhn_test_card(random.Random(seed)) == old(random.Random(seed))


@pytest.mark.parametrize(("length", "prefix"), [(4, "4444"), (20, "4"), (16, ""), (16, "4a")])
def test_impossible_shapes_are_refused(length: int, prefix: str) -> None:
    with pytest.raises(ValueError, match="test card"):
        luhn_test_card(random.Random(0), length=length, prefix=prefix)
