"""The one scrub of card-number-shaped digit runs from text a client may see or a log may keep.

Error messages name fields and values, and some of those come from the client: a key of a JSON
body, a path segment, a query value. A client that sends a card number (PAN) as a field name
must not get it echoed back, nor find it in a log line. Every :class:`~finpilot.core.FinpilotError`
passes its message, field and fix through :func:`redact_digit_runs`, so no error path can forget.
"""

from __future__ import annotations

import re

REDACTED = "[redacted]"
"""What a digit run is replaced with."""

# Thirteen or more digits (single spaces or dashes between them): the shape of any PAN.
_DIGIT_RUN = re.compile(r"\d(?:[ -]?\d){12,}")
_HEX = frozenset("0123456789abcdefABCDEF")
_DIGEST_MIN = 32  # an MD5 in hex; a SHA-256 holds a 13-digit run about one time in ten


def _inside_digest(text: str, start: int, end: int) -> bool:
    # A hash in hex is not a card number: an integrity error must still quote it whole.
    left, right = start, end
    while left > 0 and text[left - 1] in _HEX:
        left -= 1
    while right < len(text) and text[right] in _HEX:
        right += 1
    return right - left >= _DIGEST_MIN and not text[left:right].isdigit()


def _replace(match: re.Match[str]) -> str:
    if _inside_digest(match.string, match.start(), match.end()):
        return match.group()
    return REDACTED


def redact_digit_runs(text: str) -> str:
    """``text`` with every run of 13 or more digits (spaces or dashes allowed between) replaced.

    A run inside a hex digest of 32 or more characters is kept: that is a hash, not a card.
    """
    return _DIGIT_RUN.sub(_replace, text)
