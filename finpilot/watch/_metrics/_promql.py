"""Parse PromQL instant-vector selectors, our small PromQL subset: ``name{a="x", b=~"re", c!="y", d!~"re"}``.

Regular expressions are anchored at both ends, as in PromQL (``b=~"5.."`` matches ``500``, not
``1500``). A matcher on ``__name__`` may stand in for the name (``{__name__=~"http_.*"}``), and a
selector must contain at least one matcher that does not match the empty string, as PromQL
demands, so that no query reads every series by accident.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from finpilot.watch._errors import QueryError

MatchOp = Literal["=", "!=", "=~", "!~"]
"""A label matcher's operator."""

_NAME = re.compile(r"[ \t]*([a-zA-Z_:][a-zA-Z0-9_:]*)")
_MATCHER = re.compile(
    r'[ \t]*([a-zA-Z_][a-zA-Z0-9_]*)[ \t]*(=~|!~|!=|=)[ \t]*("(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\')[ \t]*'
)
_ESCAPE = re.compile(r"\\(.)")
_FIX = 'write a selector like name{label="value", other=~"regex"}'


@dataclass(frozen=True)
class Matcher:
    """One label matcher of a selector."""

    label: str
    op: MatchOp
    value: str

    def compiled(self) -> re.Pattern[str] | None:
        """The anchored regular expression of a ``=~``/``!~`` matcher, else ``None``."""
        if self.op in ("=~", "!~"):
            return re.compile(f"(?:{self.value})\\Z", re.DOTALL)
        return None

    def matches(self, value: str) -> bool:
        """Whether a label value (``""`` when the label is absent, as in PromQL) passes."""
        if self.op == "=":
            return value == self.value
        if self.op == "!=":
            return value != self.value
        pattern = self.compiled()
        assert pattern is not None
        hit = pattern.match(value) is not None
        return hit if self.op == "=~" else not hit


@dataclass(frozen=True)
class Selector:
    """A parsed selector: the metric name (``None`` when only matchers name it) and its matchers."""

    name: str | None
    matchers: tuple[Matcher, ...] = ()

    def matches(self, name: str, labels: Mapping[str, str]) -> bool:
        """Whether a series with this name and labels is selected."""
        if self.name is not None and name != self.name:
            return False
        for m in self.matchers:
            value = name if m.label == "__name__" else labels.get(m.label, "")
            if not m.matches(value):
                return False
        return True

    def exact_name(self) -> str | None:
        """The one metric name this selector can match, when it pins one (for an indexed lookup)."""
        if self.name is not None:
            return self.name
        for m in self.matchers:
            if m.label == "__name__" and m.op == "=":
                return m.value
        return None


def _unquote(text: str) -> str:
    return _ESCAPE.sub(lambda m: {"n": "\n", "t": "\t"}.get(m.group(1), m.group(1)), text[1:-1])


def parse_selector(text: str) -> Selector:
    """Parse ``name{matchers}``; raises :class:`QueryError` (``field="selector"``) on bad input."""
    if not isinstance(text, str) or not text.strip():
        raise QueryError("the selector is empty", field="selector", fix=_FIX)
    name: str | None = None
    pos = 0
    head = _NAME.match(text)
    if head is not None:
        name, pos = head.group(1), head.end()
    matchers: list[Matcher] = []
    rest = text[pos:].strip()
    if rest:
        if not rest.startswith("{") or not rest.endswith("}"):
            raise QueryError(f"cannot read {rest!r} in selector {text!r}", field="selector", fix=_FIX)
        matchers = _matchers(text, rest[1:-1])
    selector = Selector(name, tuple(matchers))
    if name is None and all(m.matches("") for m in matchers):
        raise QueryError(
            f"selector {text!r} matches every series",
            field="selector",
            fix="name a metric or add a matcher that cannot match the empty string",
        )
    return selector


def _matchers(text: str, body: str) -> list[Matcher]:
    matchers: list[Matcher] = []
    pos = 0
    while pos < len(body):
        match = _MATCHER.match(body, pos)
        if match is None:
            raise QueryError(f"malformed matcher at {body[pos:]!r} in selector {text!r}", field="selector", fix=_FIX)
        op: MatchOp = match.group(2)  # type: ignore[assignment]  # the regex only admits the four
        matcher = Matcher(match.group(1), op, _unquote(match.group(3)))
        if matcher.op in ("=~", "!~"):
            try:
                matcher.compiled()
            except re.error as exc:
                raise QueryError(
                    f"label {matcher.label}: invalid regular expression {matcher.value!r} ({exc})",
                    field="selector",
                    fix="fix the regular expression (RE2 syntax, anchored at both ends)",
                ) from None
        matchers.append(matcher)
        pos = match.end()
        if pos < len(body):
            if body[pos] != ",":
                raise QueryError(f"expected ',' at {body[pos:]!r} in selector {text!r}", field="selector", fix=_FIX)
            pos += 1
            if not body[pos:].strip():
                break  # a trailing comma is allowed
    return matchers
