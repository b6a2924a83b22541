"""PromQL text for the calls of :class:`MetricsQuery`, built from checked parts only.

A selector reaches Prometheus inside a larger expression (``rate(<sel>[60s])``), so it is parsed
first (:func:`~finpilot.watch._metrics._promql.parse_selector`) and written back with every value
re-quoted: a selector that is not a plain instant-vector selector could otherwise close a
parenthesis and turn the query into something else.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence

from finpilot.watch._errors import QueryError
from finpilot.watch._metrics._promql import Selector

_LABEL = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")


def quote(value: str) -> str:
    """``value`` as a double-quoted PromQL string."""
    escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{escaped}"'


def selector_text(selector: Selector) -> str:
    """The selector as PromQL text, every value re-quoted (so it can be embedded safely)."""
    name = selector.name or ""
    if not selector.matchers:
        return name
    inner = ", ".join(f"{m.label}{m.op}{quote(m.value)}" for m in selector.matchers)
    return f"{name}{{{inner}}}"


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
    return f"rate({selector_text(selector)}[{duration(window, 'window')}])"


def quantile_expr(q: float, selector: Selector, window: float, by: Sequence[str]) -> str:
    """``histogram_quantile(q, sum by (le, by) (rate(sel[window])))``."""
    if not (isinstance(q, int | float) and 0.0 <= q <= 1.0):
        raise QueryError(f"quantile q is {q!r}", field="q", fix="give q between 0 and 1 (0.99 for p99)")
    if "le" in by:
        raise QueryError("'by' names 'le'", field="by", fix="leave 'le' out: the buckets are always kept apart")
    return f"histogram_quantile({q!r}, sum {by_clause(['le', *by])} ({rate_expr(selector, window)}))"
