"""The PromQL the Prometheus backend sends: selectors parsed and re-quoted, long ranges chunked on the grid."""

from __future__ import annotations

import itertools
import math
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from finpilot.watch import QueryError
from finpilot.watch._metrics._prometheus import MAX_POINTS, chunks, parse_value
from finpilot.watch._metrics._promql import parse_selector
from finpilot.watch._metrics._promql_text import duration, quantile_expr, quote, selector_text

labels = st.from_regex(r"[a-zA-Z_][a-zA-Z0-9_]{0,8}", fullmatch=True).filter(lambda s: s != "__name__")
values = st.text(max_size=12)
# A regex matcher's value must compile (the parser checks it), so any text is escaped for those.
matchers = st.lists(
    st.tuples(labels, st.sampled_from(["=", "!=", "=~", "!~"]), values).map(
        lambda m: (m[0], m[1], re.escape(m[2]) if "~" in m[1] else m[2])
    ),
    max_size=4,
)


@given(name=st.from_regex(r"[a-zA-Z_:][a-zA-Z0-9_:]{0,12}", fullmatch=True), matchers=matchers)
def test_a_selector_survives_printing_and_parsing_whatever_its_values(
    name: str, matchers: list[tuple[str, str, str]]
) -> None:
    parsed = parse_selector(name + _body(matchers))
    assert parsed.name == name
    assert [(m.label, m.op, m.value) for m in parsed.matchers] == matchers
    assert parse_selector(selector_text(parsed)) == parsed


def _body(matchers: list[tuple[str, str, str]]) -> str:
    return "{" + ", ".join(f"{label}{op}{quote(value)}" for label, op, value in matchers) + "}" if matchers else ""


@pytest.mark.parametrize(
    "text",
    [
        'up{job="a"}) or vector(1',
        'up{job="a"} or up',
        "up{job=}",
        'up{job="a}',
        "{}",
        'up{,job="a"}',
        'up{job "a"}',
        "rate(up[5m])",
        '{job=""}',
    ],
)
def test_anything_but_a_plain_selector_is_refused(text: str) -> None:
    with pytest.raises(QueryError) as caught:
        parse_selector(text)
    assert caught.value.field == "selector"


def test_single_quotes_escapes_and_a_name_matcher_are_read() -> None:
    parsed = parse_selector("""{__name__="up", path='a\\'b', msg="x\\"y\\\\z"}""")
    assert not parsed.name
    assert [(m.label, m.op, m.value) for m in parsed.matchers] == [
        ("__name__", "=", "up"),
        ("path", "=", "a'b"),
        ("msg", "=", 'x"y\\z'),
    ]


@given(
    start=st.floats(1e9, 2e9),
    step=st.floats(0.01, 3600),
    points=st.integers(1, 5 * MAX_POINTS),
)
def test_chunks_cover_the_grid_exactly_and_each_fits_prometheus_limit(start: float, step: float, points: int) -> None:
    end = start + (points - 1) * step
    pieces = chunks(start, end, step)
    total = 0
    for lo, hi in pieces:
        n = round((hi - lo) / step) + 1
        assert 1 <= n <= MAX_POINTS
        # Every piece starts on the caller's grid.
        assert math.isclose((lo - start) / step, round((lo - start) / step), abs_tol=1e-3)
        total += n
    assert total == points
    assert pieces[0][0] == start
    assert math.isclose(pieces[-1][1], end, rel_tol=0, abs_tol=1e-3 * step)
    assert all(b[0] > a[1] for a, b in itertools.pairwise(pieces))


def test_values_as_prometheus_writes_them() -> None:
    assert math.isnan(parse_value("NaN"))
    assert parse_value("+Inf") == math.inf
    assert parse_value("-Inf") == -math.inf
    assert parse_value("1e-3") == 0.001
    with pytest.raises(QueryError):
        parse_value("one")
    with pytest.raises(QueryError):
        parse_value(1.0)


def test_durations_and_quantiles_are_checked() -> None:
    assert duration(60, "window") == "60s"
    assert duration(1.5, "window") == "1500ms"
    for bad in (0.0, -1.0, math.nan, math.inf, 0.0001):
        with pytest.raises(QueryError):
            duration(bad, "window")
    sel = parse_selector('h_bucket{job="a"}')
    assert quantile_expr(0.99, sel, 60, ("svc",)) == (
        'histogram_quantile(0.99, sum by (le, svc) (rate(h_bucket{job="a"}[60s])))'
    )
    with pytest.raises(QueryError, match="le"):
        quantile_expr(0.5, sel, 60, ("le",))
