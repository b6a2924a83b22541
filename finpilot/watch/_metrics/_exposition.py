"""Parse the Prometheus text exposition format, version 0.0.4.

Our own scanner rather than ``prometheus_client.parser``: that parser raises a bare ``ValueError``
with no line number, accepts Python-only float spellings (``1_000``, ``infinity``) and is several
times slower on the scrape path. This one names the line and what is wrong in an
:class:`~finpilot.watch.ExpositionError`, and nothing of the text is half-applied: a scrape either
parses whole or is rejected whole (Prometheus does the same).

What it accepts (the spec's grammar)::

    # HELP name escaped\\ntext
    # TYPE name counter|gauge|histogram|summary|untyped
    name{label="value",other="a \\"quoted\\" \\\\ value\\n"} 1.5e3 1700000000000

Values may be ``NaN``, ``+Inf``, ``-Inf`` (legal in the format, kept as such: the store keeps
them and the query layer returns them; callers that need finite numbers skip them with
:func:`~finpilot.watch.finite_points`). The optional timestamp is integer milliseconds.
Histogram ``_bucket`` samples must carry a numeric ``le`` label, summary quantiles a numeric
``quantile`` label; a sample name repeated with the same labels is an error.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import NamedTuple

from finpilot.watch._errors import ExpositionError

METRIC_TYPES = frozenset({"counter", "gauge", "histogram", "summary", "untyped"})
"""The ``# TYPE`` values of format 0.0.4."""

Labels = tuple[tuple[str, str], ...]
"""Label pairs sorted by name: the identity of a series beside its metric name."""

_NAME = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")
_LABEL = re.compile(r'[ \t]*([a-zA-Z_][a-zA-Z0-9_]*)[ \t]*=[ \t]*"((?:[^"\\\n]|\\.)*)"[ \t]*([,}])')
_CLOSE = re.compile(r"[ \t]*}")
_SIMPLE_LABELS = re.compile(r'((?:[a-zA-Z_][a-zA-Z0-9_]*="[^"\\\n]*"(?:,[a-zA-Z_][a-zA-Z0-9_]*="[^"\\\n]*")*,?)?)}')
_SIMPLE_PAIR = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="([^"\\\n]*)"')
# Go's ParseFloat spellings that the format allows; Python's float() also takes "1_0" and
# "infinity", which the format does not, so the number's shape is checked first.
_NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*(?:[eE][+-]?\d+)?|\.\d+(?:[eE][+-]?\d+)?|0[xX][0-9a-fA-F]+)")
_SPECIAL = {"nan": math.nan, "+inf": math.inf, "inf": math.inf, "-inf": -math.inf}
_TIMESTAMP = re.compile(r"-?\d+")
_UNESCAPE = re.compile(r"\\(.)")
_SUFFIXES = ("_bucket", "_sum", "_count", "_created", "_total")


class ExpositionSample(NamedTuple):
    """One sample line: metric name, sorted labels, value, and its own timestamp in ms when it had one."""

    name: str
    labels: Labels
    value: float
    timestamp_ms: int | None


@dataclass(frozen=True)
class Exposition:
    """A parsed exposition: every sample in text order, and the declared type and help of each family."""

    samples: list[ExpositionSample]
    types: Mapping[str, str] = field(default_factory=dict)
    helps: Mapping[str, str] = field(default_factory=dict)

    def names(self) -> set[str]:
        """Every sample name in the text (``x_bucket``, ``x_sum``... for a histogram ``x``)."""
        return {s.name for s in self.samples}


def _unescape_label(raw: str) -> str:
    if "\\" not in raw:
        return raw
    return _UNESCAPE.sub(lambda m: "\n" if m.group(1) == "n" else m.group(1), raw)


def _unescape_help(raw: str) -> str:
    if "\\" not in raw:
        return raw
    return _UNESCAPE.sub(lambda m: {"n": "\n", "\\": "\\"}.get(m.group(1), m.group(0)), raw)


def parse_value(text: str) -> float:
    """A sample value as the format spells it (``1.5``, ``1e3``, ``NaN``, ``+Inf``, ``-Inf``).

    Raises ``ValueError`` for anything else; :func:`parse_exposition` turns that into an
    :class:`ExpositionError` naming the line.
    """
    special = _SPECIAL.get(text.lower())
    if special is not None:
        return special
    if not _NUMBER.fullmatch(text):
        raise ValueError(text)
    if text.lstrip("+-")[:2].lower() == "0x":
        return float(int(text, 16))
    return float(text)


def _sorted_labels(pairs: dict[str, str]) -> Labels:
    # An empty label value is the same as no label (Prometheus drops it on ingestion).
    return tuple(sorted((k, v) for k, v in pairs.items() if v))


def _family(name: str, types: Mapping[str, str]) -> str:
    if name in types:
        return name
    for suffix in _SUFFIXES:
        if name.endswith(suffix) and name[: -len(suffix)] in types:
            return name[: -len(suffix)]
    return name


class _Parser:
    def __init__(self, cache: dict[str, tuple[str, Labels]] | None = None) -> None:
        self.cache = cache
        self.samples: list[ExpositionSample] = []
        self.types: dict[str, str] = {}
        self.helps: dict[str, str] = {}
        self.seen: set[tuple[str, Labels]] = set()
        self.families_with_samples: set[str] = set()
        self.family_of: dict[str, str] = {}

    def fail(self, number: int, what: str, fix: str) -> ExpositionError:
        return ExpositionError(f"exposition line {number}: {what}", field=f"line {number}", fix=fix)

    def comment(self, number: int, line: str) -> None:
        parts = line[1:].lstrip().split(None, 2)
        if not parts or parts[0] not in ("HELP", "TYPE"):
            return  # any other comment is free text
        if len(parts) < 2 or not _NAME.fullmatch(parts[1]):
            raise self.fail(number, f"# {parts[0]} without a valid metric name", "write '# TYPE name type'")
        keyword, name = parts[0], parts[1]
        rest = parts[2] if len(parts) > 2 else ""
        if keyword == "HELP":
            if name in self.helps:
                raise self.fail(number, f"a second # HELP for {name}", "give each metric one HELP line")
            self.helps[name] = _unescape_help(rest)
            return
        kind = rest.strip()
        if kind not in METRIC_TYPES:
            raise self.fail(
                number, f"unknown type {kind!r} for {name}", f"use one of {', '.join(sorted(METRIC_TYPES))}"
            )
        if name in self.types:
            raise self.fail(number, f"a second # TYPE for {name}", "give each metric one TYPE line")
        if name in self.families_with_samples:
            raise self.fail(number, f"# TYPE for {name} after its samples", "put # TYPE before the first sample")
        self.types[name] = kind

    def labels(self, number: int, line: str, pos: int) -> tuple[Labels, int]:
        simple = _SIMPLE_LABELS.match(line, pos)
        if simple is not None:
            # The common case (no escapes, no spaces, no repeats): one regex for the whole set.
            found = _SIMPLE_PAIR.findall(simple.group(1))
            if len({k for k, _ in found}) == len(found):
                return tuple(sorted((k, v) for k, v in found if v)), simple.end()
        pairs: dict[str, str] = {}
        closed = _CLOSE.match(line, pos)
        if closed:
            return (), closed.end()
        while True:
            match = _LABEL.match(line, pos)
            if match is None:
                raise self.fail(
                    number,
                    f"malformed label set at column {pos + 1}",
                    'write labels as {name="value",...} with \\\\, \\" and \\n escapes only',
                )
            key = match.group(1)
            if key in pairs:
                raise self.fail(number, f"label {key!r} given twice", "give each label once per sample")
            pairs[key] = _unescape_label(match.group(2))
            pos = match.end()
            if match.group(3) == "}":
                return _sorted_labels(pairs), pos
            closed = _CLOSE.match(line, pos)  # a trailing comma before } is allowed
            if closed:
                return _sorted_labels(pairs), closed.end()

    def sample(self, number: int, line: str) -> None:
        match = _NAME.match(line)
        if match is None:
            raise self.fail(number, "a sample line must start with a metric name", "name it [a-zA-Z_:][a-zA-Z0-9_:]*")
        name, pos = match.group(0), match.end()
        labels: Labels = ()
        if pos < len(line) and line[pos] == "{":
            labels, pos = self.labels(number, line, pos + 1)
        elif pos < len(line) and line[pos] not in " \t":
            raise self.fail(number, f"unexpected {line[pos]!r} after the metric name {name}", "check the name")
        if self.cache is not None and len(self.cache) < MAX_CACHED_SERIES:
            self.cache[line[:pos]] = (name, labels)
        self.finish(number, name, labels, line[pos:].split())

    def cached(self, number: int, line: str) -> bool:
        """Take a line whose series text was parsed before (the next scrape of a target); False if new."""
        assert self.cache is not None
        # The series text is everything before the value, or before the value and the timestamp.
        # Neither split can hit a wrong entry: every key is a bare name or a name{...} block.
        for split in (1, 2):
            parts = line.rsplit(None, split)
            hit = self.cache.get(parts[0]) if len(parts) == split + 1 else None
            if hit is not None:
                self.finish(number, hit[0], hit[1], parts[1:])
                return True
        return False

    def finish(self, number: int, name: str, labels: Labels, fields: list[str]) -> None:
        if not 1 <= len(fields) <= 2:
            raise self.fail(
                number,
                f"{name}: expected a value and an optional timestamp, got {len(fields)} fields",
                "write 'name value [ms]'",
            )
        try:
            value = parse_value(fields[0])
        except ValueError:
            raise self.fail(
                number, f"{name}: value {fields[0]!r} is not a number", "use a float, NaN, +Inf or -Inf"
            ) from None
        stamp: int | None = None
        if len(fields) == 2:
            if not _TIMESTAMP.fullmatch(fields[1]):
                raise self.fail(
                    number, f"{name}: timestamp {fields[1]!r} is not integer milliseconds", "write ms since the epoch"
                )
            stamp = int(fields[1])
        key = (name, labels)
        if key in self.seen:
            raise self.fail(number, f"{name}{dict(labels)} appears twice", "expose each series once per scrape")
        self.seen.add(key)
        family = self.family_of.get(name)
        if family is None:
            # A TYPE line may only come before its family's samples, so the answer cannot change.
            family = self.family_of[name] = _family(name, self.types)
            self.families_with_samples.add(family)
        if family in self.types:
            self.check_typed(number, name, family, labels)
        self.samples.append(ExpositionSample(name, labels, value, stamp))

    def check_typed(self, number: int, name: str, family: str, labels: Labels) -> None:
        kind = self.types.get(family)
        wanted = "le" if kind == "histogram" and name == family + "_bucket" else None
        if kind == "summary" and name == family:
            wanted = "quantile"
        if wanted is None:
            return
        bound = dict(labels).get(wanted)
        if bound is None:
            raise self.fail(number, f"{name} has no {wanted!r} label", f"give every {kind} {wanted} a {wanted} label")
        try:
            parse_value(bound)
        except ValueError:
            raise self.fail(
                number, f"{name}: {wanted}={bound!r} is not a number", f"write {wanted} as a float"
            ) from None


MAX_CACHED_SERIES = 200_000
"""The most series texts one parse cache remembers (a target that churns labels must not grow it forever)."""


def parse_exposition(text: str, *, cache: dict[str, tuple[str, Labels]] | None = None) -> Exposition:
    """Parse Prometheus text format 0.0.4; raises :class:`ExpositionError` naming the first bad line.

    ``cache``, kept by the caller between scrapes of one target, maps each series' text (``name{...}``)
    to its parsed name and labels, so an unchanged series is not parsed again; every other check
    (values, timestamps, duplicates, types) runs on every line all the same.
    """
    parser = _Parser(cache)
    for number, raw in enumerate(text.split("\n"), start=1):
        line = raw.rstrip("\r").strip(" \t")
        if not line:
            continue
        if line[0] == "#":
            parser.comment(number, line)
        elif cache is None or not parser.cached(number, line):
            parser.sample(number, line)
    return Exposition(parser.samples, parser.types, parser.helps)
