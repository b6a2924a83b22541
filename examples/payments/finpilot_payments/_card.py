"""Card tokenisation on arrival (PCI DSS 3.4/3.5): a PAN is checked, then replaced by a token.

Only the random token and the last four digits are kept. The PAN itself never reaches the
database, a log line or an error message: :class:`CardError` messages say what is wrong with
the number, never what the number was.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass

from finpilot_payments._errors import CardError

_SEPARATORS = str.maketrans("", "", " -")
_DIGIT_RUN = re.compile(r"[0-9]{12,}")


def _token() -> str:
    # A random hex token can hold a digit run that passes for a card number; PAN scanners in
    # logs and audit trails would then flag a token. Draw again (about 1 draw in 34).
    while True:
        token = secrets.token_hex(16)
        if not _DIGIT_RUN.search(token):
            return "tok_" + token


def luhn_ok(digits: str) -> bool:
    """True when a string of ASCII digits passes the Luhn checksum."""
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = ord(ch) - 48
        if i % 2 == 1:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


@dataclass(frozen=True)
class TokenisedCard:
    """What is kept of a card: a random token and the last four digits."""

    token: str
    last4: str


def tokenise(pan: str, *, field: str = "pan") -> TokenisedCard:
    """Validate a PAN (13-19 digits, spaces or dashes allowed, Luhn) and replace it by a new token.

    Raises :class:`CardError` naming ``field``; the message never contains the number.
    """
    digits = pan.translate(_SEPARATORS)
    if not digits.isascii() or not digits.isdigit():
        raise CardError("the card number must contain only digits", field=field, fix="send 13 to 19 digits")
    if not 13 <= len(digits) <= 19:
        raise CardError(
            f"the card number must have 13 to 19 digits, not {len(digits)}", field=field, fix="check the number"
        )
    if not luhn_ok(digits):
        raise CardError("the card number fails the Luhn check", field=field, fix="check the number for typos")
    return TokenisedCard(token=_token(), last4=digits[-4:])
