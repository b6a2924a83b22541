"""Refuse full card numbers (PANs) before they can reach the ledger (PCI DSS 3.3, 3.4).

A candidate is 13 to 19 digits made of whole digit groups (single spaces or dashes may
separate groups), starting with a digit a card network issues (2 to 6), passing the Luhn
check. Masked forms such as ``411111******1111`` or the last four digits are fine and are
not matched. A digit run longer than 19 with no separator is an identifier, not a card.
Nor is a digit run inside a hex token of 32 or more characters with a letter in it: that is a
digest (a SHA-256 in hex holds a Luhn-valid run of 13 to 19 digits about once in 500).
"""

from __future__ import annotations

import re

from finpilot.core import luhn_ok

# A maximal run of digits, possibly grouped by single spaces or dashes: every window of
# whole groups inside it is tried, so "2024 4111 1111 1111 1111" still finds the card.
# A run never starts right after a decimal point: the digits of a fraction (a float such as
# 0.41111111111111115 in evidence) are not a card number.
_RUN = re.compile(rb"(?<![.0-9])[0-9]+(?:[ -][0-9]+)*")
_GROUP_SPLIT = re.compile(rb"[ -]")
_HEX = frozenset(b"0123456789abcdefABCDEF")
_HEX_LETTERS = frozenset(b"abcdefABCDEF")
_DIGEST_MIN = 32  # an MD5 in hex; SHA-1 is 40, SHA-256 64
# JSON escapes (\u0010, \n, ...) must not glue the digits around them into one number.
_ESCAPE = re.compile(rb"\\(?:u[0-9a-fA-F]{4}|.)")


def digit_count(data: bytes) -> int:
    """How many ASCII digits ``data`` holds (one C call: the cheap pre-filter)."""
    return len(data) - len(data.translate(None, b"0123456789"))


# Digits, spaces and dashes to "1", everything else to "0": a PAN needs 13 "1"s in a row.
_RUN_MAP = bytes(0x31 if chr(b) in "0123456789 -" else 0x30 for b in range(256))
_MIN_RUN = b"1" * 13


def has_digit_run(data: bytes) -> bool:
    """True when ``data`` has 13 digits, spaces or dashes in a row: the shape any PAN needs."""
    return _MIN_RUN in data.translate(_RUN_MAP)


def contains_pan(data: bytes) -> bool:
    """True when ``data`` (text or canonical JSON) contains something that looks like a full card number."""
    # Two C-speed filters first: most entries with many digits (versions, ids, times) have no
    # 13-character run of digits and separators, and then nothing below needs to run.
    if digit_count(data) < 13 or not has_digit_run(data):
        return False
    if b"\\" in data:
        data = _ESCAPE.sub(b"|", data)
    for match in _RUN.finditer(data):
        if match.end() - match.start() < 13 or _inside_digest(data, match.start(), match.end()):
            continue
        groups = [g.decode("ascii") for g in _GROUP_SPLIT.split(match.group())]
        for start in range(len(groups)):
            digits = ""
            for group in groups[start:]:
                digits += group
                if len(digits) > 19:
                    break
                if len(digits) >= 13 and digits[0] in "23456" and luhn_ok(digits):
                    return True
    return False


def _inside_digest(data: bytes, start: int, end: int) -> bool:
    """True when ``data[start:end]`` lies in a hex token of digest length with a letter in it."""
    left = start
    while left > 0 and data[left - 1] in _HEX:
        left -= 1
    right = end
    while right < len(data) and data[right] in _HEX:
        right += 1
    if right - left < _DIGEST_MIN:
        return False
    return any(b in _HEX_LETTERS for b in data[left:right])
