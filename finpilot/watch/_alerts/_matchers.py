"""Label matchers, as Alertmanager has them: ``=``, ``!=``, ``=~`` and ``!~`` (regexes anchored)."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from finpilot.watch._errors import AlertConfigError

MatchOp = Literal["=", "!=", "=~", "!~"]
"""How a matcher compares a label's value."""

_SYNTAX = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_]*)\s*(=~|!~|!=|=)\s*(.*?)\s*$")


@dataclass(frozen=True)
class Matcher:
    """One condition on one label; a missing label is the empty string, as in Alertmanager."""

    name: str
    op: MatchOp
    value: str

    def __post_init__(self) -> None:
        if self.op in ("=~", "!~"):
            try:
                re.compile(self.value)
            except re.error as exc:
                raise AlertConfigError(
                    f"matcher {self.name}{self.op}{self.value}: invalid regular expression ({exc})",
                    field="matchers",
                    fix="fix the pattern",
                ) from None

    def matches(self, labels: Mapping[str, str]) -> bool:
        """Whether ``labels`` satisfy this matcher."""
        actual = labels.get(self.name, "")
        if self.op == "=":
            return actual == self.value
        if self.op == "!=":
            return actual != self.value
        # Anchored like Alertmanager: 'pay.*' must match the whole value, not a part of it.
        found = re.fullmatch(self.value, actual) is not None
        return found if self.op == "=~" else not found

    def __str__(self) -> str:
        return f"{self.name}{self.op}{self.value}"

    def to_json(self) -> dict[str, object]:
        """Alertmanager's matcher shape (also what silences store)."""
        return {
            "name": self.name,
            "value": self.value,
            "isRegex": self.op in ("=~", "!~"),
            "isEqual": self.op in ("=", "=~"),
        }


def parse_matcher(text: str, *, field: str = "matchers") -> Matcher:
    """``name=value`` (or ``!=``, ``=~``, ``!~``) as a :class:`Matcher`; quotes around the value are dropped."""
    found = _SYNTAX.match(text)
    if found is None or not found.group(3):
        raise AlertConfigError(
            f"'{text}' is not a label matcher",
            field=field,
            fix="write name=value, name!=value, name=~regex or name!~regex (e.g. --match service=payments)",
        )
    value = found.group(3)
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
        value = value[1:-1]
    op: MatchOp = found.group(2)  # type: ignore[assignment]  # the regex only admits the four
    return Matcher(found.group(1), op, value)


def parse_matchers(texts: Sequence[str], *, field: str = "matchers") -> tuple[Matcher, ...]:
    """Every text as a matcher (see :func:`parse_matcher`)."""
    return tuple(parse_matcher(text, field=field) for text in texts)


def all_match(matchers: Sequence[Matcher], labels: Mapping[str, str]) -> bool:
    """Whether ``labels`` satisfy every matcher (no matchers: always)."""
    return all(m.matches(labels) for m in matchers)
