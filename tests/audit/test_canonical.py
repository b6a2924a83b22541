"""RFC 8785 (JCS) canonical JSON, held byte-equal to the ``rfc8785`` reference package.

``canonical_json`` has two paths: a fast one through orjson with sorted keys (taken when
``_fast_ok`` vets the value) and a slow hand-written encoder. Both are compared with the
reference on every generated value, not only the one ``canonical_json`` happens to pick.
"""

from __future__ import annotations

import json
import math
from typing import Any

import orjson
import pytest
import rfc8785
from hypothesis import example, given, settings
from hypothesis import strategies as st

from finpilot.audit._canonical import _SLOW, MAX_SAFE_INT, _fast_ok, _slow, _with_fragments, canonical_json
from finpilot.core import InputError

safe_ints = st.integers(min_value=-MAX_SAFE_INT, max_value=MAX_SAFE_INT)
# Every finite double, including the integral ones from 2^53 up to 1e21 that ES6 prints with
# its shortest round-trip digits padded with zeros (see test_integral_floats_beyond_2_53_...).
finite_floats = st.floats(allow_nan=False, allow_infinity=False)
# Text of every kind: the default (all planes, no surrogates), control characters, and a few
# characters whose UTF-16 order differs from their code point order.
texts = st.one_of(
    st.text(),
    st.text(alphabet=st.characters(max_codepoint=0x1F)),
    st.text(alphabet=st.characters(min_codepoint=0xE000)),
    st.text(alphabet=st.sampled_from(['"', "\\", "/", "\b", "\f", "\n", "\r", "\t", "\x7f", "\u2028", "\u2029"])),
    st.text(alphabet=st.sampled_from(["a", "é", "\uffff", "\ufb01", "\U0001f600", "\U00010000", "\U0010ffff"])),
)
scalars = st.one_of(st.none(), st.booleans(), safe_ints, finite_floats, texts)
json_values = st.recursive(
    scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=6),
        st.dictionaries(texts, children, max_size=6),
    ),
    max_leaves=30,
)

# Values the fast path should accept: ASCII keys, floats both encoders print alike.
fast_floats = st.floats(min_value=1e-4, max_value=1e16, exclude_max=True).filter(lambda f: not f.is_integer())
fast_values = st.recursive(
    st.one_of(st.none(), st.booleans(), safe_ints, fast_floats, fast_floats.map(lambda f: -f), texts),
    lambda children: st.one_of(
        st.lists(children, max_size=6),
        st.dictionaries(st.text(alphabet=st.characters(max_codepoint=0x7F)), children, max_size=6),
    ),
    max_leaves=30,
)


@given(json_values)
@settings(max_examples=400, deadline=None)
@example(1.0)
@example(1e21)
@example(1e-7)
@example(5e-324)
@example(0.1)
@example(-0.0)
@example(1e20)
@example(-1e-7)
@example(1.7976931348623157e308)
@example(2.2250738585072014e-308)
@example(123456.789e-20)
@example({"é": 1, "\U0001f600": 2, "\uffff": 3, "a": 4})
@example({"\ufb01": 1, "\U0001f600": 2})
@example({"\u20ac": 1, "\r": 2, "\ufb33": 3, "1": 4, "\U0001f600": 5, "\x80": 6, "\u00f6": 7})
@example(["\u0000\u001f\u007f", "\u2028", '"\\'])
@example({"a": [1, 2.5, {"b": None}], "A": True})
def test_canonical_json_matches_rfc8785(value: Any) -> None:
    want = rfc8785.dumps(value)
    # canonical_json takes the fast path exactly when _fast_ok says so; the slow encoder is
    # also run on every value, so both paths are held to the reference whichever is chosen.
    assert canonical_json(value) == want
    assert _slow(value, "$").encode() == want
    # The middle path (orjson with odd floats as fragments) too, wherever it does not defer.
    fixed = _with_fragments(value)
    if fixed is not _SLOW:
        assert orjson.dumps(fixed, option=orjson.OPT_SORT_KEYS) == want


@given(fast_values, st.lists(finite_floats, min_size=1, max_size=5))
@settings(max_examples=300, deadline=None)
def test_odd_floats_keep_the_orjson_path_and_stay_canonical(value: Any, floats: list[float]) -> None:
    # A fraud decision's evidence: ASCII keys, and a score below 1e-4 or an amount of 25.0.
    doc = {"v": value, "floats": floats, "nested": {"x": floats[0]}}
    fixed = _with_fragments(doc)
    assert fixed is not _SLOW
    assert orjson.dumps(fixed, option=orjson.OPT_SORT_KEYS) == rfc8785.dumps(doc) == canonical_json(doc)


@given(fast_values)
@settings(max_examples=300, deadline=None)
def test_fast_path_is_taken_and_canonical(value: Any) -> None:
    assert _fast_ok(value)
    assert canonical_json(value) == rfc8785.dumps(value)


@pytest.mark.parametrize(
    ("value", "fast"),
    [
        ({"a": 1, "b": "x"}, True),
        ([0.5, 1234.5678, -0.001], True),
        ({"a": 1.0}, False),  # integral float: Python prints 1.0, ES6 prints 1
        ([1e21], False),
        ([1e-7], False),
        ([5e-324], False),
        ({"é": 1}, False),  # non-ASCII key: UTF-16 order must be checked
        ((1, 2), True),
    ],
)
def test_each_path_is_chosen_where_expected(value: Any, fast: bool) -> None:
    assert _fast_ok(value) is fast
    assert canonical_json(value) == rfc8785.dumps(list(value) if isinstance(value, tuple) else value)


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (1.0, "1"),
        (1e21, "1e+21"),
        (1e-7, "1e-7"),
        (5e-324, "5e-324"),
        (0.1, "0.1"),
        (-0.0, "0"),
        (1e20, "100000000000000000000"),
        (0.000001, "0.000001"),
        (-1.5e-9, "-1.5e-9"),
        (MAX_SAFE_INT, "9007199254740991"),
        (-MAX_SAFE_INT, "-9007199254740991"),
    ],
)
def test_number_forms(value: float, text: str) -> None:
    assert canonical_json(value) == text.encode()
    assert rfc8785.dumps(value) == text.encode()


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (float(2**53), "9007199254740992"),
        (float(2**53 + 2), "9007199254740994"),
        (float(2**60), "1152921504606847000"),
        (-float(2**60), "-1152921504606847000"),
        (1.2345678901234568e20, "123456789012345680000"),
        (9.999999999999999e20, "999999999999999900000"),
        (1e16, "10000000000000000"),
        (float(2**63), "9223372036854776000"),
    ],
)
def test_integral_floats_beyond_2_53_use_shortest_digits(value: float, text: str) -> None:
    """Regression: integral floats in [2^53, 1e21) print ES6's shortest round-trip digits,
    padded with zeros, not their exact binary value (2.0**60 is 1152921504606847000)."""
    assert canonical_json(value) == text.encode()
    assert _slow(value, "$").encode() == text.encode()
    assert rfc8785.dumps(value) == text.encode()
    assert canonical_json({"x": [value]}) == rfc8785.dumps({"x": [value]})


def test_key_order_is_utf16_code_units() -> None:
    # U+FFFF sorts after U+1F600 by code point but before it in UTF-16 (0xD83D 0xDE00).
    value = {"\U0001f600": 1, "\uffff": 2, "é": 3, "z": 4}
    out = canonical_json(value)
    assert out == rfc8785.dumps(value)
    assert list(json.loads(out)) == ["z", "é", "\U0001f600", "\uffff"]


@pytest.mark.parametrize(
    ("value", "path"),
    [
        (math.nan, "$"),
        ({"a": [1, math.inf]}, "$.a[1]"),
        ({"a": {"b": -math.inf}}, "$.a.b"),
        ([123456789012345678], "$[0]"),
        ({"n": MAX_SAFE_INT + 1}, "$.n"),
        ({"n": -(2**53)}, "$.n"),
        ({"x": [{"y": 2**64}]}, "$.x[0].y"),
    ],
)
def test_non_json_numbers_are_refused_naming_the_path(value: Any, path: str) -> None:
    with pytest.raises(InputError) as info:
        canonical_json(value)
    assert info.value.field == path
    assert path in info.value.message


def test_path_prefix_is_used() -> None:
    with pytest.raises(InputError) as info:
        canonical_json({"score": math.nan}, path="evidence")
    assert info.value.field == "evidence.score"


@pytest.mark.parametrize("value", [{1: "a"}, {"a": b"bytes"}, {"a": {1, 2}}, object()])
def test_non_json_types_are_input_errors(value: Any) -> None:
    with pytest.raises(InputError):
        canonical_json(value)


def test_nesting_limit_is_an_input_error() -> None:
    value: Any = "leaf"
    for _ in range(100):
        value = [value]
    with pytest.raises(InputError):
        canonical_json(value)


@pytest.mark.parametrize("value", ["\ud800", ["ok", "\udfff"], {"a": "\ud83d"}])
def test_lone_surrogate_values_are_input_errors(value: Any) -> None:
    with pytest.raises(InputError):
        canonical_json(value)


@pytest.mark.parametrize(
    ("value", "path"),
    [({"\ud800": 1}, "$"), ({"a": {"\udfff": 1}}, "$.a"), ({"x": [{"ok": 1, "\ud83d": 2}]}, "$.x[0]")],
)
def test_lone_surrogate_key_is_an_input_error(value: Any, path: str) -> None:
    """Regression: a lone-surrogate object key is an InputError naming the object's path, not a
    UnicodeEncodeError escaping from the UTF-16 key sort."""
    with pytest.raises(InputError) as info:
        canonical_json(value)
    assert info.value.field == path
