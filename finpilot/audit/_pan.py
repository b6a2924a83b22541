"""Refuse full card numbers (PANs) before they can reach the ledger (PCI DSS 3.3, 3.4).

A candidate is 13 to 19 digits passing the Luhn check, whatever digit it starts with. Digits
form one number across any mix of spaces, dots, dashes and underscores between them
(``4111.1111.1111.1111``, ``card_4111_1111_1111_1111``, ``4 1 1 1 ...``); every window of
whole digit groups inside such a run is tried, and a run may start right after anything that
is not a digit (a letter, a dot, a slash). A single group longer than 19 digits is an
identifier, not a card. Masked forms (``411111******1111``, the last four) are not matched.

Digits are read as a person reads them: a Unicode decimal digit of any script (fullwidth
``U+FF14``, Arabic-Indic ``U+0664``, ...) counts as its ASCII digit, other characters count as
what NFKC makes of them (superscript and circled digits), Unicode spaces, dashes, marks and
invisible format characters count as separators, and JSON ``\\uXXXX`` escapes are decoded.
Only data with non-ASCII bytes or backslashes pays for this. A literal backslash-u sequence in
text (``"\\\\u0034"`` in JSON) is text, not a digit.

Data is canonical JSON (what the ledger scans) when it starts with ``{`` or ``[``; then
digits outside quotes are a JSON number, of which only the integer part can be a card (a
float such as 0.41111111111111115 in evidence is not refused), while inside a string a dot is
a separator like any other. Anything else, and every ``str``, is scanned as text.

Two shapes of writers' own data are exempt, each only as a whole token bounded by characters
that are not ASCII letters or digits: a digest (exactly 32, 40, 64 or 128 hex characters, one
letter case, with letters and other digits beside the run: one SHA-256 in about 500 holds a
Luhn-valid run of 13 to 19 digits) for a digit run that no separator joins to digits outside
it, and a UUID (8-4-4-4-12 hex) for windows inside it. A string made to look like a digest or
a UUID can still carry a card; the ledger cannot tell it from a real one.
"""

from __future__ import annotations

import re
import unicodedata
from bisect import bisect_left, bisect_right
from itertools import accumulate

from finpilot.core import luhn_ok

# A maximal run of digit groups joined by separators: every window of whole groups inside it
# is tried, so "2024 4111 1111 1111 1111" still finds the card.
_RUN = re.compile(rb"[0-9]+(?:[ ._-]+[0-9]+)*")
_GROUP = re.compile(rb"[0-9]+")
_INT = re.compile(rb"[0-9]+")
_HEX = frozenset(b"0123456789abcdefABCDEF")
_ALNUM = frozenset(b"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
_DIGEST_LENGTHS = frozenset((32, 40, 64, 128))  # MD5, SHA-1, SHA-256, SHA-512 in hex
_UUID = re.compile(rb"[0-9a-f]{8}(?:-[0-9a-f]{4}){3}-[0-9a-f]{12}|[0-9A-F]{8}(?:-[0-9A-F]{4}){3}-[0-9A-F]{12}")
_UUID_CHARS = _HEX | frozenset(b"-")
# JSON escapes (\u0010, \n, ...) must not glue the digits around them into one number; an
# escaped digit or separator (\u0034, \uff14, \u00a0) is read as what it stands for.
_ESCAPE = re.compile(rb"\\(?:u[dD][89abAB][0-9a-fA-F]{2}\\u[dD][c-fC-F][0-9a-fA-F]{2}|u[0-9a-fA-F]{4}|.)")
_CACHE_MAX = 1 << 16


def digit_count(data: bytes) -> int:
    """How many ASCII digits ``data`` holds (one C call: the cheap pre-filter)."""
    return len(data) - len(data.translate(None, b"0123456789"))


# Digits and separators to "1", everything else to "0": a PAN needs 13 "1"s in a row.
_RUN_MAP = bytes(0x31 if chr(b) in "0123456789 ._-" else 0x30 for b in range(256))
_MIN_RUN = b"1" * 13


def has_digit_run(data: bytes) -> bool:
    """True when ``data`` has 13 ASCII digits or separators in a row: the shape an ASCII PAN needs.

    Data with non-ASCII bytes or JSON escapes may spell digits otherwise: :func:`contains_pan`
    reads those itself.
    """
    return _MIN_RUN in data.translate(_RUN_MAP)


def _fold_char(ch: str) -> str:
    value = unicodedata.decimal(ch, None)
    if value is not None:
        return str(value)
    category = unicodedata.category(ch)
    if category == "Pd":
        return "-"
    if category in ("Zs", "Zl", "Zp", "Cf", "Mn", "Me"):
        # Spaces, and marks or format characters a reader does not see (U+200B, a keycap's
        # U+20E3): between digits they separate groups, never hide them.
        return " "
    folded = unicodedata.normalize("NFKC", ch)
    # A fullwidth quote or backslash would unbalance the JSON structure the scan relies on.
    if folded.isascii() and '"' not in folded and "\\" not in folded:
        return folded
    return ch


class _Fold(dict[int, str]):
    """``str.translate`` table built on demand: each non-ASCII character as a reader takes it."""

    def __missing__(self, code: int) -> str:
        out = chr(code) if code < 0x80 else _fold_char(chr(code))
        if len(self) < _CACHE_MAX:
            self[code] = out
        return out


_FOLD = _Fold()
# UTF-8 never uses an ASCII byte inside a multi-byte character, so a run of bytes >= 0x80 is
# whole characters: only those runs leave C (text with a few accents stays cheap).
_NON_ASCII = re.compile(rb"[\x80-\xff]+")


_RUNS: dict[bytes, bytes] = {}  # the same few runs (an accented letter, a dash) come back again and again


def _fold_run(match: re.Match[bytes]) -> bytes:
    run = match.group()
    folded = _RUNS.get(run)
    if folded is None:
        folded = run.decode("utf-8", "replace").translate(_FOLD).encode("utf-8", "surrogatepass")
        if len(_RUNS) < _CACHE_MAX and len(run) <= 16:
            _RUNS[run] = folded
    return folded


def _unescape(match: re.Match[bytes]) -> bytes:
    esc = match.group()
    if len(esc) >= 6:
        code = int(esc[2:6], 16)
        if len(esc) == 12:  # a surrogate pair: one character beyond the BMP (mathematical digits)
            code = 0x10000 + ((code - 0xD800) << 10) + int(esc[8:], 16) - 0xDC00
        out = _fold_char(chr(code))
        if len(out) == 1 and out in "0123456789 ._-":
            return out.encode()
    return b"|"


def contains_pan(data: bytes | str) -> bool:
    """True when ``data`` (canonical JSON, or text) contains something that looks like a full card number."""
    if isinstance(data, str):
        data = data.encode("utf-8", "surrogatepass")
        json = False
    else:
        json = data[:1] in (b"{", b"[")
    if not data.isascii():
        data = _NON_ASCII.sub(_fold_run, data)
    if b"\\" in data:
        data = _ESCAPE.sub(_unescape, data)
    # Two C-speed filters first: most entries with many digits (versions, ids, times) have no
    # 13-character run of digits and separators, and then nothing below needs to run.
    if digit_count(data) < 13 or not has_digit_run(data):
        return False
    quotes = 0
    seen = 0
    for match in _RUN.finditer(data):
        start, end = match.span()
        if end - start < 13:
            continue
        if json:
            # After _ESCAPE every quote left is a string delimiter: an even count means a number.
            quotes += data.count(b'"', seen, start)
            seen = start
            if not quotes & 1:
                head = _INT.match(data, start)
                if head is not None and 13 <= len(head.group()) <= 19 and luhn_ok(head.group().decode()):
                    return True
                continue
        if _run_has_card(data, start, end):
            return True
    return False


def _run_has_card(data: bytes, start: int, end: int) -> bool:
    spans = [g.span() for g in _GROUP.finditer(data, start, end)]
    digits = b"".join(data[s:e] for s, e in spans)
    cuts = list(accumulate((e - s for s, e in spans), initial=0))  # where each group starts in digits
    sums = _luhn_prefix_sums(digits)
    for first, offset in enumerate(cuts[:-1]):
        # Only windows of 13 to 19 digits ending on a group boundary: at most 7 per start, so a
        # run of thousands of single digits costs linear time, not a Luhn sum per window.
        for last in range(bisect_left(cuts, offset + 13), bisect_right(cuts, offset + 19)):
            stop = cuts[last]
            odd = (stop - 1) & 1  # the parity of the check digit's index: those digits count as they are
            plain, doubled = sums[odd], sums[2 + (1 - odd)]
            total = plain[stop] - plain[offset] + doubled[stop] - doubled[offset]
            if total % 10 == 0 and not _writers_token(data, spans[first][0], spans[last - 1][1], last - 1 == first):
                return True
    return False


_DOUBLED = (0, 2, 4, 6, 8, 1, 3, 5, 7, 9)


def _luhn_prefix_sums(digits: bytes) -> tuple[list[int], ...]:
    """Prefix sums of each digit as it is and doubled (Luhn), split by the parity of its index."""
    values = [d - 48 for d in digits]
    doubled = [_DOUBLED[v] for v in values]
    return (
        list(accumulate((v if not i & 1 else 0 for i, v in enumerate(values)), initial=0)),
        list(accumulate((v if i & 1 else 0 for i, v in enumerate(values)), initial=0)),
        list(accumulate((v if not i & 1 else 0 for i, v in enumerate(doubled)), initial=0)),
        list(accumulate((v if i & 1 else 0 for i, v in enumerate(doubled)), initial=0)),
    )


def _writers_token(data: bytes, start: int, end: int, one_group: bool) -> bool:
    """True when ``data[start:end]`` lies inside a digest (one digit group) or a UUID."""
    if one_group and _inside_digest(data, start, end):
        return True
    left, right = _extend(data, start, end, _UUID_CHARS)
    return right - left == 36 and _bounded(data, left, right) and _UUID.fullmatch(data, left, right) is not None


def _extend(data: bytes, start: int, end: int, chars: frozenset[int]) -> tuple[int, int]:
    left = start
    while left > 0 and data[left - 1] in chars:
        left -= 1
    right = end
    while right < len(data) and data[right] in chars:
        right += 1
    return left, right


def _bounded(data: bytes, left: int, right: int) -> bool:
    return (left == 0 or data[left - 1] not in _ALNUM) and (right == len(data) or data[right] not in _ALNUM)


def _inside_digest(data: bytes, start: int, end: int) -> bool:
    """True when the digit group ``data[start:end]`` is part of a hex token shaped like a digest.

    Besides its length and bounds, the token must use one letter case and hold letters and
    other digits outside the group: every real digest does (bar odds below one in a million),
    while ``deadbeef...`` glued to a card number does not.
    """
    left, right = _extend(data, start, end, _HEX)
    if right - left not in _DIGEST_LENGTHS or not _bounded(data, left, right):
        return False
    token = data[left:right]
    if token.lower() != token and token.upper() != token:
        return False
    rest = data[left:start] + data[end:right]
    return digit_count(rest) > 0 and digit_count(rest) < len(rest)
