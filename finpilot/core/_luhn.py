"""Luhn check digits, and the one generator of test card numbers (traffic, the chaos drill, tests).

Card numbers finpilot makes up are test numbers: random digits after a chosen prefix, closed by a
valid Luhn check digit, so that the payments service accepts and tokenises them. The digits come
from the ``random.Random`` the caller seeds (a seed gives the same cards every run); they are not
secrets, and they are never logged.
"""

from __future__ import annotations

import random


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


def luhn_check_digit(body: str) -> str:
    """The digit that, appended to ``body`` (ASCII digits), makes it pass the Luhn checksum."""
    total = 0
    for i, ch in enumerate(reversed(body)):
        # The check digit will sit at position 0 from the right, so the body's last digit is doubled.
        d = (ord(ch) - 48) * (2 if i % 2 == 0 else 1)
        total += d - 9 if d > 9 else d
    return str((10 - total % 10) % 10)


def luhn_test_card(rng: random.Random, *, length: int = 16, prefix: str = "4") -> str:
    """A random test card number of ``length`` digits starting with ``prefix``, with a valid check digit."""
    if not prefix.isascii() or not prefix.isdigit() or not len(prefix) < length <= 19:
        raise ValueError("a test card needs a digit prefix shorter than its length, and at most 19 digits")
    body = prefix + "".join(rng.choice("0123456789") for _ in range(length - len(prefix) - 1))
    return body + luhn_check_digit(body)
