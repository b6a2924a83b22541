"""The one scrub of card numbers from error text: every spelling the ledger refuses is scrubbed too."""

from __future__ import annotations

import pytest

from finpilot.core import REDACTED, InputError, luhn_ok, redact_digit_runs

CARD = "4111111111111111"


@pytest.mark.parametrize(
    "text",
    [
        CARD,
        "4111 1111 1111 1111",
        "4111-1111-1111-1111",
        "4111_1111_1111_1111",
        "card no.4111.1111.1111.1111",
        "\uff14" + "\uff11" * 15,  # fullwidth
        "\u0664" + "\u0661" * 15,  # Arabic-Indic
        "4111\u200b1111\u200b1111\u200b1111",  # zero-width spaces
        CARD + "ab" * 8,  # hidden in a 32-character hex-looking string
        "a0b1c2d3" + CARD + "e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9",  # inside a 64-character one
    ],
)
def test_every_spelling_of_a_card_number_is_scrubbed(text: str) -> None:
    scrubbed = redact_digit_runs(f"unknown field '{text}'")
    assert REDACTED in scrubbed
    assert "1111" not in scrubbed, scrubbed
    assert "\u0661" * 4 not in scrubbed, scrubbed
    assert REDACTED in InputError(f"unknown field '{text}'", field=text).field  # type: ignore[operator]


def test_a_digest_without_a_card_in_it_is_quoted_whole() -> None:
    # 14 digits in a row, no 13-to-19-digit window of them passes Luhn: a hash, not a card.
    run = "12345678901234"
    assert not any(luhn_ok(run[s : s + n]) for s in range(len(run) - 12) for n in range(13, len(run) - s + 1))
    digest = "ab" + run + "cd" * 24
    assert len(digest) == 64
    assert redact_digit_runs(f"leaf {digest} does not match") == f"leaf {digest} does not match"


def test_short_numbers_are_left_alone() -> None:
    text = "index 922337203685 of 12 entries, limit 2**63 - 1, at 2026-12-07T03:40:00Z"
    assert redact_digit_runs(text) == text
