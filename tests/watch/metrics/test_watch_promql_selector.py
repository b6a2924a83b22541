"""Selector parsing: the four matchers, anchored regexes, and errors that name the field."""

from __future__ import annotations

import pytest

from finpilot.watch import QueryError, parse_selector


def test_all_four_matchers_parse_and_match() -> None:
    sel = parse_selector('http_requests{a="x", b=~"5..", c!="y", d!~"de.*"}')
    assert sel.name == "http_requests"
    assert [(m.label, m.op, m.value) for m in sel.matchers] == [
        ("a", "=", "x"),
        ("b", "=~", "5.."),
        ("c", "!=", "y"),
        ("d", "!~", "de.*"),
    ]
    assert sel.matches("http_requests", {"a": "x", "b": "500", "c": "z", "d": "prod"})
    # Regexes are anchored at both ends, as in PromQL.
    assert not sel.matches("http_requests", {"a": "x", "b": "1500", "c": "z"})
    assert not sel.matches("http_requests", {"a": "x", "b": "500", "c": "y"})
    assert not sel.matches("http_requests", {"a": "x", "b": "500", "d": "dev"})
    assert not sel.matches("other", {"a": "x", "b": "500"})


def test_absent_label_is_the_empty_string() -> None:
    sel = parse_selector('m{env=""}')
    assert sel.matches("m", {})
    assert not sel.matches("m", {"env": "prod"})


def test_name_only_and_empty_braces_and_trailing_comma() -> None:
    assert parse_selector("up").matchers == ()
    assert parse_selector("up{}").name == "up"
    assert len(parse_selector('up{job="a",}').matchers) == 1


def test_name_matcher_stands_in_for_the_name() -> None:
    sel = parse_selector('{__name__=~"payments_.*", route="/pay"}')
    assert sel.name is None
    assert sel.matches("payments_requests_total", {"route": "/pay"})
    assert not sel.matches("up", {"route": "/pay"})
    assert parse_selector('{__name__="up"}').exact_name() == "up"


def test_escapes_and_single_quotes_in_values() -> None:
    sel = parse_selector("m{a='it\\'s', b=\"q\\\"x\\n\"}")
    assert sel.matchers[0].value == "it's"
    assert sel.matchers[1].value == 'q"x\n'


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("", "empty"),
        ("   ", "empty"),
        ("m{a=x}", "malformed matcher"),
        ('m{a="x" b="y"}', "expected ','"),
        ('m{a=~"("}', "invalid regular expression"),
        ('m{a="x"', "cannot read"),
        ("m[5m]", "cannot read"),
        ('{a=~".*"}', "matches every series"),
        ("{}", "matches every series"),
        ('m{a=="x"}', "malformed matcher"),
    ],
)
def test_bad_selectors_raise_query_error_naming_the_field(text: str, words: str) -> None:
    with pytest.raises(QueryError) as caught:
        parse_selector(text)
    assert caught.value.field == "selector"
    assert words in caught.value.message
    assert caught.value.fix
