"""The Prometheus text parser: the spec's grammar, non-finite values, and errors that name the line."""

from __future__ import annotations

import math
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, Summary, generate_latest

from finpilot.watch import ExpositionError, WatchInputError, parse_exposition

SPEC_EXAMPLE = """\
# HELP http_requests_total The total number of HTTP requests.
# TYPE http_requests_total counter
http_requests_total{method="post",code="200"} 1027 1395066363000
http_requests_total{method="post",code="400"}    3 1395066363000

# Escaping in label values:
msdos_file_access_time_seconds{path="C:\\\\DIR\\\\FILE.TXT",error="Cannot find file:\\n\\"FILE.TXT\\""} 1.458255915e9

# Minimalistic line:
metric_without_timestamp_and_labels 12.47

# A weird metric from before the epoch:
something_weird{problem="division by zero"} +Inf -3982045

# A histogram, which has a pretty complex representation in the text format:
# HELP http_request_duration_seconds A histogram of the request duration.
# TYPE http_request_duration_seconds histogram
http_request_duration_seconds_bucket{le="0.05"} 24054
http_request_duration_seconds_bucket{le="0.1"} 33444
http_request_duration_seconds_bucket{le="+Inf"} 144320
http_request_duration_seconds_sum 53423
http_request_duration_seconds_count 144320

# Finally a summary, which has a complex representation, too:
# HELP rpc_duration_seconds A summary of the RPC duration in seconds.
# TYPE rpc_duration_seconds summary
rpc_duration_seconds{quantile="0.01"} 3102
rpc_duration_seconds{quantile="0.5"} 4773
rpc_duration_seconds_sum 1.7560473e+07
rpc_duration_seconds_count 2693
"""


def test_the_spec_example_parses_with_every_detail() -> None:
    parsed = parse_exposition(SPEC_EXAMPLE)
    assert len(parsed.samples) == 14
    first = parsed.samples[0]
    assert first.name == "http_requests_total"
    assert first.labels == (("code", "200"), ("method", "post"))
    assert first.value == 1027
    assert first.timestamp_ms == 1395066363000
    escaped = parsed.samples[2]
    assert dict(escaped.labels) == {"path": "C:\\DIR\\FILE.TXT", "error": 'Cannot find file:\n"FILE.TXT"'}
    weird = parsed.samples[4]
    assert weird.value == math.inf
    assert weird.timestamp_ms == -3982045
    assert parsed.types == {
        "http_requests_total": "counter",
        "http_request_duration_seconds": "histogram",
        "rpc_duration_seconds": "summary",
    }
    assert parsed.helps["rpc_duration_seconds"] == "A summary of the RPC duration in seconds."
    assert "http_request_duration_seconds_bucket" in parsed.names()


def test_nan_and_infinities_are_legal_values() -> None:
    parsed = parse_exposition("a NaN\nb +Inf\nc -Inf\nd Inf\ne nan\n")
    values = [s.value for s in parsed.samples]
    assert math.isnan(values[0])
    assert values[1:4] == [math.inf, -math.inf, math.inf]
    assert math.isnan(values[4])


def test_help_unescapes_backslash_and_newline_only() -> None:
    parsed = parse_exposition("# HELP x a \\\\ b\\nc \\q\nx 1\n")
    assert parsed.helps["x"] == "a \\ b\nc \\q"


def test_trailing_comma_and_crlf_and_empty_labels() -> None:
    parsed = parse_exposition('x{a="1",} 1\r\ny{} 2\r\nz{a=""} 3\r\n')
    assert [(s.name, s.labels) for s in parsed.samples] == [("x", (("a", "1"),)), ("y", ()), ("z", ())]


@pytest.mark.parametrize(
    ("text", "line", "words"),
    [
        ("ok 1\nbad{a=1} 2\n", 2, "malformed label set"),
        ("ok 1\n\nx 1_000\n", 3, "is not a number"),
        ("x infinity\n", 1, "is not a number"),
        ("x 1 2 3\n", 1, "expected a value"),
        ("x\n", 1, "expected a value"),
        ("x 1 1.5\n", 1, "not integer milliseconds"),
        ('x{a="1",a="2"} 1\n', 1, "given twice"),
        ("x 1\nx 2\n", 2, "appears twice"),
        ("# TYPE x countr\nx 1\n", 1, "unknown type"),
        ("# TYPE x counter\n# TYPE x gauge\n", 2, "second # TYPE"),
        ("x 1\n# TYPE x gauge\n", 2, "after its samples"),
        ("# TYPE h histogram\nh_bucket 1\n", 2, "no 'le' label"),
        ('# TYPE h histogram\nh_bucket{le="big"} 1\n', 2, "is not a number"),
        ("# TYPE s summary\ns 1\n", 2, "no 'quantile' label"),
        ("9x 1\n", 1, "must start with a metric name"),
        ('x{a="unterminated} 1\n', 1, "malformed label set"),
        ("x$ 1\n", 1, "unexpected"),
        ("# TYPE\n", 1, "without a valid metric name"),
    ],
)
def test_malformed_text_names_the_line_and_the_problem(text: str, line: int, words: str) -> None:
    with pytest.raises(ExpositionError) as caught:
        parse_exposition(text)
    assert isinstance(caught.value, WatchInputError)
    assert f"line {line}:" in caught.value.message
    assert words in caught.value.message
    assert caught.value.field == f"line {line}"
    assert caught.value.fix


def test_other_comments_are_ignored() -> None:
    assert len(parse_exposition("# just a note\n#\n# EOF\nx 1\n").samples) == 1


def test_prometheus_client_output_round_trips() -> None:
    registry = CollectorRegistry()
    c = Counter("jobs", "Jobs done.", ["kind"], registry=registry)
    c.labels('we"ird\\kind\n').inc(3)
    g = Gauge("temp", "Temperature.", registry=registry)
    g.set(math.nan)
    h = Histogram("lat_seconds", "Latency.", buckets=(0.1, 1.0), registry=registry)
    h.observe(0.05)
    h.observe(5)
    s = Summary("size_bytes", "Size.", registry=registry)
    s.observe(10)
    parsed = parse_exposition(generate_latest(registry).decode())
    by_name = {(x.name, x.labels): x.value for x in parsed.samples}
    assert by_name[("jobs_total", (("kind", 'we"ird\\kind\n'),))] == 3
    assert math.isnan(by_name[("temp", ())])
    assert by_name[("lat_seconds_bucket", (("le", "0.1"),))] == 1
    assert by_name[("lat_seconds_bucket", (("le", "+Inf"),))] == 2
    assert by_name[("size_bytes_count", ())] == 1
    assert parsed.types["jobs_total"] == "counter"
    assert parsed.types["lat_seconds"] == "histogram"


_label_values = st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=12)


@given(
    st.lists(
        st.tuples(st.sampled_from(["a", "b_c", "le_x"]), _label_values),
        max_size=3,
        unique_by=lambda p: p[0],
    ),
    st.floats(allow_nan=False),
    st.one_of(st.none(), st.integers(min_value=-(2**53), max_value=2**53)),
)
def test_any_escaped_sample_round_trips(labels: list[tuple[str, str]], value: float, stamp: int | None) -> None:
    def escape(v: str) -> str:
        return v.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')

    body = ",".join(f'{k}="{escape(v)}"' for k, v in labels)
    line = f"m{{{body}}} {value!r}" + ("" if stamp is None else f" {stamp}")
    (sample,) = parse_exposition(line).samples
    assert sample.labels == tuple(sorted((k, v) for k, v in labels if v))
    assert sample.value == value
    assert sample.timestamp_ms == stamp


def test_a_parse_cache_changes_nothing_but_the_speed() -> None:
    cache: dict[str, tuple[str, tuple[tuple[str, str], ...]]] = {}
    plain = parse_exposition(SPEC_EXAMPLE)
    first = parse_exposition(SPEC_EXAMPLE, cache=cache)
    assert cache
    second = parse_exposition(SPEC_EXAMPLE, cache=cache)
    assert plain.samples == first.samples == second.samples
    # Cached series text is still checked: a bad value or a repeat is an error as before.
    with pytest.raises(ExpositionError, match="line 2"):
        parse_exposition("metric_without_timestamp_and_labels 1\nmetric_without_timestamp_and_labels 2\n", cache=cache)
    with pytest.raises(ExpositionError, match="is not a number"):
        parse_exposition('http_requests_total{method="post",code="200"} x\n', cache=cache)
    # The same series text with and without a timestamp.
    again = parse_exposition('http_requests_total{method="post",code="200"} 5\n', cache=cache)
    assert again.samples[0].timestamp_ms is None
    assert again.samples[0].labels == (("code", "200"), ("method", "post"))


@given(st.lists(st.sampled_from(SPEC_EXAMPLE.splitlines()), max_size=30))
def test_cached_and_uncached_parses_agree_on_any_lines(lines: list[str]) -> None:
    text = "\n".join(lines)
    cache: dict[str, tuple[str, tuple[tuple[str, str], ...]]] = {}
    parse_exposition(SPEC_EXAMPLE, cache=cache)

    def outcome(**kw: Any) -> object:
        try:
            return parse_exposition(text, **kw)
        except ExpositionError as exc:
            return exc.message

    assert outcome(cache=cache) == outcome()
