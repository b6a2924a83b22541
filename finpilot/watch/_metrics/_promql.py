"""PromQL text for the calls of :class:`MetricsQuery`, built from checked parts only.

A selector reaches Prometheus inside a larger expression (``rate(<sel>[60s])``), so it is parsed
first: a selector that is not a plain instant-vector selector (``name{label="v", ...}``) could
close a parenthesis and turn the query into something else. Parsing also gives the metric name,
which Prometheus drops from ``rate`` and aggregation results but the returned series keep.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass

from finpilot.watch._errors import QueryError

_NAME = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")
_LABEL = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")
_OPS = ("=~", "!~", "!=", "=")
_SELECTOR_FIX = 'write an instant-vector selector such as name{label="value", other=~"re.*"}'


@dataclass(frozen=True)
class Selector:
    """A parsed instant-vector selector: the metric name (``""`` when none) and its label matchers."""

    name: str
    matchers: tuple[tuple[str, str, str], ...]

    def promql(self) -> str:
        """The selector as PromQL text, every value re-quoted (so it can be embedded safely)."""
        inner = ", ".join(f"{label}{op}{quote(value)}" for label, op, value in self.matchers)
        if not self.matchers:
            return self.name
        return f"{self.name}{{{inner}}}"


def quote(value: str) -> str:
    """``value`` as a double-quoted PromQL string."""
    escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{escaped}"'


def parse_selector(text: str) -> Selector:
    """Parse ``name{label op "value", ...}``; anything else is a :class:`QueryError` naming the problem."""
    s = text.strip()
    match = _NAME.match(s)
    name = match.group(0) if match else ""
    pos = len(name)
    matchers: list[tuple[str, str, str]] = []
    if pos < len(s):
        if s[pos] != "{" or not s.endswith("}"):
            raise QueryError(f"selector {text!r} is not name{{...}}", field="selector", fix=_SELECTOR_FIX)
        matchers = _matchers(text, s[pos + 1 : -1])
    if not name and not any(op in ("=", "=~") and value not in ("", ".*") for _, op, value in matchers):
        raise QueryError(
            f"selector {text!r} names no metric and no non-empty label matcher",
            field="selector",
            fix='name the metric, e.g. http_requests_total{job="api"}',
        )
    if any(label == "__name__" for label, _, _ in matchers) and name:
        raise QueryError(f"selector {text!r} names the metric twice", field="selector", fix=_SELECTOR_FIX)
    return Selector(name, tuple(matchers))


def _matchers(text: str, body: str) -> list[tuple[str, str, str]]:
    out: list[tuple[str, str, str]] = []
    i = 0
    while True:
        while i < len(body) and body[i] in " \t,":
            if body[i] == "," and not out:
                raise QueryError(f"selector {text!r}: a comma before any matcher", field="selector", fix=_SELECTOR_FIX)
            i += 1
        if i >= len(body):
            return out
        label = _LABEL.match(body, i)
        if label is None:
            raise QueryError(
                f"selector {text!r}: a label name expected at {body[i:]!r}", field="selector", fix=_SELECTOR_FIX
            )
        i = label.end()
        while i < len(body) and body[i] == " ":
            i += 1
        op = next((o for o in _OPS if body.startswith(o, i)), None)
        if op is None:
            raise QueryError(
                f"selector {text!r}: label {label.group(0)!r} has no operator",
                field="selector",
                fix="use = != =~ or !~",
            )
        i += len(op)
        while i < len(body) and body[i] == " ":
            i += 1
        value, i = _string(text, body, i)
        out.append((label.group(0), op, value))
        while i < len(body) and body[i] == " ":
            i += 1
        if i < len(body) and body[i] != ",":
            raise QueryError(
                f"selector {text!r}: ',' or '}}' expected at {body[i:]!r}", field="selector", fix=_SELECTOR_FIX
            )


def _string(text: str, body: str, i: int) -> tuple[str, int]:
    if i >= len(body) or body[i] not in "\"'":
        raise QueryError(f"selector {text!r}: a quoted value expected", field="selector", fix=_SELECTOR_FIX)
    close = body[i]
    chars: list[str] = []
    i += 1
    escapes = {"n": "\n", "t": "\t", "\\": "\\", '"': '"', "'": "'"}
    while i < len(body):
        c = body[i]
        if c == "\\" and i + 1 < len(body):
            chars.append(escapes.get(body[i + 1], "\\" + body[i + 1]))
            i += 2
            continue
        if c == close:
            return "".join(chars), i + 1
        chars.append(c)
        i += 1
    raise QueryError(f"selector {text!r}: a quoted value is not closed", field="selector", fix=_SELECTOR_FIX)


def duration(seconds: float, field: str) -> str:
    """A PromQL duration (``60s``, ``1500ms``) for a positive number of seconds."""
    if not math.isfinite(seconds) or seconds <= 0:
        raise QueryError(f"{field} is {seconds!r}", field=field, fix=f"give {field} as a positive number of seconds")
    ms = round(seconds * 1000)
    if ms < 1:
        raise QueryError(f"{field} is {seconds!r}, below 1 ms", field=field, fix="use a window of at least 0.001 s")
    return f"{ms // 1000}s" if ms % 1000 == 0 else f"{ms}ms"


def by_clause(by: Sequence[str]) -> str:
    """``by (a, b)`` with every label checked (``by ()`` when empty: one series for all)."""
    for label in by:
        if not isinstance(label, str) or _LABEL.fullmatch(label) is None:
            raise QueryError(f"'by' label {label!r} is not a label name", field="by", fix="use names like 'service'")
    return f"by ({', '.join(by)})"


def rate_expr(selector: Selector, window: float) -> str:
    """``rate(sel[window])``."""
    return f"rate({selector.promql()}[{duration(window, 'window')}])"


def quantile_expr(q: float, selector: Selector, window: float, by: Sequence[str]) -> str:
    """``histogram_quantile(q, sum by (le, by) (rate(sel[window])))``."""
    if not (isinstance(q, int | float) and 0.0 <= q <= 1.0):
        raise QueryError(f"quantile q is {q!r}", field="q", fix="give q between 0 and 1 (0.99 for p99)")
    if "le" in by:
        raise QueryError("'by' names 'le'", field="by", fix="leave 'le' out: the buckets are always kept apart")
    return f"histogram_quantile({q!r}, sum {by_clause(['le', *by])} ({rate_expr(selector, window)}))"
