"""Refuse full card numbers (PANs) before they can reach the ledger (PCI DSS 3.3, 3.4).

A candidate is 13 to 19 digits, optionally grouped by single spaces or dashes, starting
with a digit a card network issues (2 to 6), passing the Luhn check. Masked forms such as
``411111******1111`` or the last four digits are fine and are not matched.
"""

from __future__ import annotations

import re

_CANDIDATE = re.compile(rb"(?<![0-9])[2-6](?:[ -]?[0-9]){12,18}(?![0-9])")


def luhn_ok(digits: str) -> bool:
    """True when a digit string passes the Luhn checksum."""
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = ord(ch) - 48
        if i % 2 == 1:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


def _few_digits(data: bytes) -> bool:
    # A PAN has at least 13 digits; most entries have fewer, and counting is far cheaper than the regex.
    return len(data) - len(data.translate(None, b"0123456789")) < 13


def contains_pan(data: bytes) -> bool:
    """True when ``data`` contains something that looks like a full card number."""
    if _few_digits(data):
        return False
    for match in _CANDIDATE.finditer(data):
        # Grouped digits ("4111 1111 1111 1111 exp 12") may run into a neighbouring group,
        # so try every run of whole groups rather than only the greedy match.
        groups = re.split(rb"[ -]", match.group())
        for start in range(len(groups)):
            digits = ""
            for group in groups[start:]:
                digits += group.decode("ascii")
                if len(digits) > 19:
                    break
                if len(digits) >= 13 and digits[0] in "23456" and luhn_ok(digits):
                    return True
    return False
