"""PCI DSS 3.4/3.5: a card number is never stored, logged or echoed, whatever field it arrives in."""

from __future__ import annotations

import logging
import random
import re
import unicodedata
from pathlib import Path

import pytest
from finpilot_payments import CardError, PaymentsSettings, luhn_ok, tokenise
from payments_helpers import Bank, all_rows_text, random_pan


def test_tokenise_keeps_a_random_token_and_the_last_four() -> None:
    one, two = tokenise("4111 1111 1111 1111"), tokenise("4111-1111-1111-1111")
    assert one.last4 == two.last4 == "1111"
    assert one.token != two.token
    assert re.fullmatch(r"tok_[0-9a-f]{32}", one.token)
    assert luhn_ok("79927398713")
    assert not luhn_ok("79927398710")


def test_tokens_never_hold_a_digit_run_a_pan_scanner_would_flag() -> None:
    # About 1 raw draw in 34 holds 12+ digits in a row, so 1,000 tokens exercise the redraw ~30 times.
    tokens = {tokenise("4111 1111 1111 1111").token for _ in range(1000)}
    assert len(tokens) == 1000
    assert not [token for token in tokens if re.search(r"[0-9]{12,}", token)]


@pytest.mark.parametrize(
    "bad", ["4111 1111 1111 1112", "411111111111", "4" * 20, "4111 1111 1111 111a", "٤١١١١١١١١١١١١١١١"]
)
def test_malformed_numbers_are_refused_without_echo(bad: str) -> None:
    with pytest.raises(CardError) as caught:
        tokenise(bad)
    assert caught.value.field == "pan"
    assert bad not in str(caught.value.to_dict())


def _forms(pan: str) -> list[str]:
    # What must never appear: the number, and everything but the last four digits.
    return [pan, pan[:-4], " ".join(pan[i : i + 4] for i in range(0, len(pan), 4))]


def test_pans_never_reach_the_database_logs_or_responses(
    bank: Bank, backend: PaymentsSettings, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    rng = random.Random(3)
    f = bank.funded()
    pans = [random_pan(rng, length) for length in (13, 15, 16, 16, 19)]
    bad = pans[0][:-1] + str((int(pans[0][-1]) + 1) % 10)  # fails the Luhn check
    assert not luhn_ok(bad)
    for pan in pans:
        spaced = " ".join(pan[i : i + 4] for i in range(0, len(pan), 4))
        for form in (pan, spaced):
            card = bank.ok("/v1/cards", {"account_id": f.customer, "pan": form})
            assert card["last4"] == pan[-4:]
            bank.authorize(card["token"], f.merchant, 100)
        # Offered in the wrong places: amounts, ids, unknown fields, keys and the path.
        bank.authorize(f.card, f.merchant, pan)  # type: ignore[arg-type]
        bank.authorize(pan, f.merchant, 100)
        bank.transfer(f.customer, pan, 100)
        bank.post("/v1/cards", {"account_id": f.customer, "pan": form, pan: 1})
        bank.post("/v1/cards", {"account_id": f.customer, "pan": form}, key=pan)
        bank.post("/v1/cards", {"account_id": f.customer, "pan": form}, key=pan)
        bank.get(f"/v1/accounts/{pan}")
        bank.get(f"/v1/authorizations/{pan}")
    for form in (bad, "4" * 25, pans[1] + "x"):
        response = bank.post("/v1/cards", {"account_id": f.customer, "pan": form})
        assert response.status_code == 422
        assert response.json()["field"] == "pan"
    bank.books()

    secrets = [form for pan in [*pans, bad] for form in _forms(pan)]
    for response in bank.responses:
        for secret in secrets:
            assert secret not in response.text, (response.request.url.path, response.text)
    # The test's own HTTP client logs the URLs it requests; everything else is the service's side.
    server_log = "\n".join(
        f"{r.name} {r.getMessage()} {r.args!r}" for r in caplog.records if not r.name.startswith("httpx")
    )
    assert "tokenised" in server_log  # the service does log about cards, with the last four only
    for secret in secrets:
        assert secret not in server_log
    stored = "\n".join(all_rows_text(bank.db))
    for secret in secrets:
        assert secret not in stored
    if backend.dsn is None:
        bank.db.close()  # checkpoints the write-ahead log into the file
        raw = b"".join(p.read_bytes() for p in Path(backend.data_dir).rglob("*") if p.is_file())
        assert raw, "the SQLite database should exist"
        for secret in secrets:
            assert secret.encode() not in raw
            assert secret.encode("utf-16-le") not in raw


@pytest.mark.parametrize(
    "spelled",
    [
        "card_4111_1111_1111_1111",
        "card.4111.1111.1111.1111",
        "4111 - 1111 - 1111 - 1111",
        "card \u2074" + "\u00b9" * 15,  # superscript digits: NFKC makes them 4111...
        "card \u2463" + "\u2460" * 15,  # circled digits
        "4111\u200b1111\u200b1111\u200b1111",  # zero-width spaces between the groups
    ],
)
def test_a_card_number_in_any_spelling_is_never_echoed(bank: Bank, spelled: str) -> None:
    """Regression (issue 10, finding 6): the error bodies' scrub knew only spaces and dashes between
    digits and only what \\d matches, so a card grouped by underscores or dots, or written in
    digits NFKC maps, came back in the 422 that named the unknown field it was sent as."""
    f = bank.funded()
    response = bank.post("/v1/cards", {"account_id": f.customer, "pan": "4111 1111 1111 1111", spelled: 1})
    assert response.status_code == 422
    shown = re.sub(r"\D", "", unicodedata.normalize("NFKC", response.text))
    assert "41111111" not in shown, response.text
