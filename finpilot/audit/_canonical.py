"""RFC 8785 (JCS) canonical JSON.

Anyone, in any language, must be able to recompute an entry's hash from its fields, so the
bytes of a leaf are the JCS form of the entry. The common case (strings, integers within
2^53, ASCII keys, floats that Python and ECMAScript print alike) is exactly what orjson
emits with sorted keys, so that path is taken when a cheap walk proves it safe; anything
else (other floats, non-ASCII keys whose UTF-16 order may differ) goes through our own
slower encoder with ECMAScript number formatting. Between them, a value whose only trouble is
some floats (a fraud score below 1e-4, an amount of 25.0) keeps the orjson path with each such
float swapped for its ECMAScript text as an ``orjson.Fragment``. Property tests hold every
path byte-equal to the ``rfc8785`` reference package.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from typing import Any

import orjson

from finpilot.core import InputError

# JCS numbers are IEEE doubles: integers outside this range would not survive a round trip.
MAX_SAFE_INT = 2**53 - 1

_SORT = orjson.OPT_SORT_KEYS


def _float_same(value: float) -> bool:
    # Python's repr and ECMAScript agree on non-integral floats written without an exponent
    # by both: 1e-4 <= |x| < 1e16. Fraud scores and ratios live there.
    return not value.is_integer() and 1e-4 <= abs(value) < 1e16


def _fast_ok(value: Any, depth: int = 0) -> bool:
    """True when the stdlib encoder's output is already canonical for ``value``.

    Scalars are checked inline rather than by recursion: this runs for every entry appended.
    """
    if depth > 64:
        return False
    t = type(value)
    if t is dict:
        items: Any = value.values()
        for key in value:
            if type(key) is not str or not key.isascii():
                return False
    elif t is list or t is tuple:
        items = value
    else:
        return _scalar_ok(value)
    for item in items:
        ti = type(item)
        if ti is str or ti is bool or item is None:
            continue
        if ti is int:
            if -MAX_SAFE_INT <= item <= MAX_SAFE_INT:
                continue
            return False
        if ti is float:
            if _float_same(item):
                continue
            return False
        if not _fast_ok(item, depth + 1):
            return False
    return True


def _scalar_ok(value: Any) -> bool:
    t = type(value)
    if t is str or t is bool or value is None:
        return True
    if t is int:
        return bool(-MAX_SAFE_INT <= value <= MAX_SAFE_INT)
    if t is float:
        return _float_same(value)
    return False


def _es6_number(value: float) -> str:
    # ECMAScript Number.prototype.toString, which JCS mandates for every number.
    if not math.isfinite(value):
        raise InputError("NaN and Infinity are not JSON numbers", fix="send a finite number or a string")
    if value == 0:
        return "0"
    # Below 2^53 every integral double prints exactly; above, ECMAScript keeps only the
    # shortest round-trip digits (2.0**60 is 1152921504606847000), which repr() gives us.
    if value.is_integer() and abs(value) < 1e16:
        return str(int(value))
    text = repr(value)
    mantissa, _, exponent = text.partition("e")
    if not exponent:
        return text
    exp = int(exponent)
    digits = mantissa.replace(".", "").replace("-", "")
    sign = "-" if value < 0 else ""
    point = len(mantissa.replace("-", "").split(".")[0])
    decimal_exp = exp + point  # position of the decimal point relative to the digit string
    if 0 < decimal_exp <= 21:
        if len(digits) <= decimal_exp:
            return sign + digits + "0" * (decimal_exp - len(digits))
        return sign + digits[:decimal_exp] + "." + digits[decimal_exp:]
    if -6 < decimal_exp <= 0:
        return sign + "0." + "0" * (-decimal_exp) + digits
    e = decimal_exp - 1
    body = digits[0] + ("." + digits[1:] if len(digits) > 1 else "")
    return f"{sign}{body}e{'+' if e > 0 else '-'}{abs(e)}"


def _slow(value: Any, path: str, depth: int = 0) -> str:
    if depth > 64:
        raise InputError(f"{path} is nested more than 64 levels deep", field=path, fix="flatten the evidence")
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise InputError(f"{path} is not valid Unicode", field=path, fix="send UTF-8 text") from None
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, int):
        if not -MAX_SAFE_INT <= value <= MAX_SAFE_INT:
            raise InputError(
                f"{path} is an integer beyond 2^53, which JSON numbers cannot hold exactly",
                field=path,
                fix="send large numbers as strings",
            )
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise InputError(f"{path} is NaN or Infinity", field=path, fix="send a finite number or a string")
        return _es6_number(value)
    if isinstance(value, Mapping):
        items = []
        for key in value:
            if not isinstance(key, str):
                raise InputError(f"{path} has a non-string key", field=path, fix="use string keys only")
            try:
                key.encode("utf-8")
            except UnicodeEncodeError:
                raise InputError(
                    f"{path} has a key that is not valid Unicode", field=path, fix="send UTF-8 text"
                ) from None
            items.append(key)
        # JCS orders keys by their UTF-16 code units, not by code points.
        items.sort(key=lambda k: k.encode("utf-16-be"))
        body = ",".join(
            json.dumps(k, ensure_ascii=False) + ":" + _slow(value[k], f"{path}.{k}", depth + 1) for k in items
        )
        return "{" + body + "}"
    if isinstance(value, Sequence) and not isinstance(value, bytes | bytearray):
        return "[" + ",".join(_slow(item, f"{path}[{i}]", depth + 1) for i, item in enumerate(value)) + "]"
    raise InputError(
        f"{path} has a value of type {type(value).__name__}, which is not JSON",
        field=path,
        fix="send only objects, arrays, strings, numbers, booleans and null",
    )


_SLOW: Any = object()  # _with_fragments' answer when only the slow encoder will do


def _with_fragments(value: Any, depth: int = 0) -> Any:
    """``value`` with every float that Python and ECMAScript print differently replaced by an
    ``orjson.Fragment`` of its ECMAScript text; :data:`_SLOW` when anything else is in doubt
    (non-ASCII keys, big integers, NaN, other types), so the slow encoder raises its precise error."""
    if depth > 64:
        return _SLOW
    t = type(value)
    if t is float:
        if _float_same(value):
            return value
        if not math.isfinite(value):
            return _SLOW
        return orjson.Fragment(_es6_number(value).encode())
    if t is dict:
        out: dict[str, Any] = {}
        for key, item in value.items():
            if type(key) is not str or not key.isascii():
                return _SLOW
            # Text and vetted floats inline, as in _fast_ok: this runs for every decision appended.
            ti = type(item)
            if ti is str or (ti is float and _float_same(item)):
                out[key] = item
                continue
            fixed = _with_fragments(item, depth + 1)
            if fixed is _SLOW:
                return _SLOW
            out[key] = fixed
        return out
    if t is list or t is tuple:
        items = []
        for item in value:
            if type(item) is str:
                items.append(item)
                continue
            fixed = _with_fragments(item, depth + 1)
            if fixed is _SLOW:
                return _SLOW
            items.append(fixed)
        return items
    return value if _scalar_ok(value) else _SLOW


def canonical_json(value: Any, *, path: str = "$") -> bytes:
    """Return the RFC 8785 canonical UTF-8 bytes of a JSON-compatible value.

    >>> canonical_json({"b": 1, "a": [True, None, 1.5]})
    b'{"a":[true,null,1.5],"b":1}'
    """
    ready = value if _fast_ok(value) else _with_fragments(value)
    if ready is _SLOW:
        return _slow(value, path).encode("utf-8")
    try:
        return orjson.dumps(ready, option=_SORT)
    except orjson.JSONEncodeError:
        raise InputError(f"{path} holds text that is not valid Unicode", field=path, fix="send UTF-8 text") from None


def canonical_fragment(value: Any, *, path: str = "$") -> Any:
    """``value`` itself when orjson will encode it canonically, else its canonical form as an
    ``orjson.Fragment`` to embed in a larger document."""
    if _fast_ok(value):
        return value
    fixed = _with_fragments(value)
    if fixed is not _SLOW:
        return fixed
    return orjson.Fragment(_slow(value, path).encode("utf-8"))


def dumps_sorted(value: Any) -> bytes:
    """orjson with sorted keys, for documents built from vetted parts (see :func:`canonical_fragment`)."""
    return orjson.dumps(value, option=_SORT)
