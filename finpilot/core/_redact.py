"""The one scrub of card-number-shaped digit runs from text a client may see or a log may keep.

Error messages name fields and values, and some of those come from the client: a key of a JSON
body, a path segment, a query value. A client that sends a card number (PAN) as a field name
must not get it echoed back, nor find it in a log line. Every :class:`~finpilot.core.FinpilotError`
passes its message, field and fix through :func:`redact_digit_runs`, so no error path can forget.

It reads numbers the way the ledger's card-number filter does (issue 10, finding 6): text is
NFKC-normalised first, digits of any script count, and spaces, dots, underscores, dashes and
invisible characters may sit between them. The payments example applies the same rule to its
own error bodies (it cannot import finpilot).
"""

from __future__ import annotations

import re
import unicodedata

from finpilot.core._luhn import luhn_ok

REDACTED = "[redacted]"
"""What a digit run is replaced with."""

# Thirteen or more digits, any separators between them: the shape of any PAN however it is spelt.
_DIGIT_RUN = re.compile(r"\d(?:[\s._\-\u2010-\u2015\u2212\u00ad\u200b-\u200d\u2060\ufeff]*\d){12,}")
_HEX = frozenset("0123456789abcdefABCDEF")
_DIGEST_MIN = 32  # an MD5 in hex; a SHA-256 holds a 13-digit run about one time in ten


def _inside_digest(text: str, start: int, end: int) -> bool:
    left, right = start, end
    while left > 0 and text[left - 1] in _HEX:
        left -= 1
    while right < len(text) and text[right] in _HEX:
        right += 1
    return right - left >= _DIGEST_MIN and not text[left:right].isdigit()


def _holds_card(digits: str) -> bool:
    """Whether some 13 to 19 consecutive digits of ``digits`` pass the Luhn check."""
    return any(
        luhn_ok(digits[start : start + length])
        for start in range(len(digits) - 12)
        for length in range(13, min(19, len(digits) - start) + 1)
    )


def _replace(match: re.Match[str]) -> str:
    # A hash in hex is not a card number, and an integrity error should quote it whole; but a
    # card hidden in a hex-looking string is still a card: only runs with no Luhn-valid window
    # are kept inside one.
    if _inside_digest(match.string, match.start(), match.end()):
        digits = "".join(str(unicodedata.digit(c)) for c in match.group() if c.isdigit())
        if not _holds_card(digits):
            return match.group()
    return REDACTED


def redact_digit_runs(text: str) -> str:
    """``text`` (NFKC-normalised) with every run of 13 or more digits replaced.

    Separators (spaces, dots, underscores, dashes, invisible characters) may sit between the
    digits. A run inside a hex digest of 32 or more characters is kept when no 13 to 19 of its
    consecutive digits pass the Luhn check: that is a hash, not a card.
    """
    return _DIGIT_RUN.sub(_replace, unicodedata.normalize("NFKC", text))
